#pragma once
// Telling people of fraud alerts (issue 17): each alert not yet mailed goes to its company's
// office managers and to the operator's fraud.alert_email, then is marked mailed. fraud/ opens
// the alerts but sits below the portal, which owns the roles that say who the office managers
// are; serve runs this after each round of fraud/live.h (LiveRules::set_mail_sweep).
//
// Reading a manager's address is audited ("fraud.alert_mail", the member, purpose service: a
// message about the company's own phone service). The email names the line by its extension
// number and the rule in words, with its figures: no number called, no address.
//
// Thread-safety: one call at a time per mailer (a Mailer is for one thread).

#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "notify/mailer.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::portal {

// Sends what is due; returns how many alerts were mailed. The alert is already committed when
// this runs (an alert opened just before a crash is sent by the next sweep), and no email is sent
// inside a transaction: each recipient is recorded (fraud::mark_mailed_to) right after their
// send, so an alert whose sending failed half-way stays unmailed and the next sweep sends it only
// to those it has not reached. Errors are store errors.
Result<int64_t> mail_fraud_alerts(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                  notify::Mailer& mailer, const std::string& portal_url);

}  // namespace privox::portal
