// The plan a new company is offered, as GET /portal-config gives it: shown on the landing page and
// at the top of sign-up, before the card is asked for.

import { $ } from './dom.js';

export function showPlan(config) {
  const plan = config && config.plan;
  if (!plan) return;
  $('#plan-name').textContent = plan.name;
  $('#plan-price').textContent = plan.line_price;
  $('#plan-summary').textContent = plan.summary || '';
}
