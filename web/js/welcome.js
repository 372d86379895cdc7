// The landing page at "/": what privox is, the plan and its price (GET /portal-config, the
// operator's plan.* settings) before anyone is asked for a card, and the way in. A visitor who is
// already signed in is offered their dashboard.

import { api } from './api.js';
import { $ } from './dom.js';
import { pageError, startPage } from './layout.js';
import { showPlan } from './plan.js';

async function main() {
  const user = await startPage({ auth: 'optional' });
  if (user) $('#welcome-signed-in').hidden = false;
  try {
    showPlan(await api('GET', '/portal-config'));
  } catch (error) {
    pageError(error);
  }
}

main();
