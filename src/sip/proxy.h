#pragma once
// The stateful proxy (RFC 3261 §16) and the heart of the telephony service: it authenticates
// calls and messages from extensions (407), routes them (colleagues by extension number, the
// public network through the trunk, DIDs from the trunk to their extension, other companies only
// through their DIDs), forks to every device of an extension and returns the best final response,
// relays CANCEL, record-routes so that in-dialog requests come back through it, applies caller-ID
// privacy (RFC 3323 Privacy: id) and reports one traffic record per call attempt and per message.
// The 2xx that answers an INVITE reaches the caller only once the call's record is durable (R1),
// as a REGISTER's 200 waits for its binding.
//
// With a media relay (sip/rtpengine.h), every INVITE that carries an SDP offer waits while the
// relay rewrites it, and so does the answer in its 18x or 2xx: both ends then send their media to
// the relay. A relay that does not answer costs a new call 503 (and one that refuses the SDP, 488);
// calls already up are not touched, and a BYE ends the relaying. An INVITE without SDP (a late
// offer) is passed on unrelayed.
//
// Thread-safety: the SIP worker thread only.

#include <array>
#include <map>
#include <cstdint>
#include <memory>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "numbers/e164.h"
#include "sip/authenticator.h"
#include "sip/directory.h"
#include "sip/location.h"
#include "sip/media_profile.h"
#include "sip/registrar.h"
#include "sip/timer_queue.h"
#include "sip/transaction.h"
#include "traffic/record.h"
#include "voicemail/message.h"

namespace privox::rating {
class RateBook;
}  // namespace privox::rating

namespace privox::wallet {
class WalletBook;
}  // namespace privox::wallet

namespace privox::fraud {
class LineGuard;
}  // namespace privox::fraud

namespace privox::privacy {
class Keyring;
}  // namespace privox::privacy

namespace privox::media {
class Endpoint;
struct Prompt;
struct SessionEnd;
struct SessionPlan;
struct Recording;
struct RecordingLimits;
}  // namespace privox::media

namespace privox::sip {

// Where MESSAGEs from a trusted trunk to privox's own SMS number go instead of being routed
// (notify/sms.h: STOP replies to marketing SMS).
class SmsInbox {
 public:
  virtual ~SmsInbox() = default;
  // The number, E.164; empty: none.
  virtual std::string_view own_number() const = 0;
  // Called on the SIP worker thread after the MESSAGE was answered 200; must not block.
  virtual void on_sms(std::string from_number, std::string body) = 0;
};

// A MESSAGE privox itself sends to the public network through the carrier trunk (RFC 3428).
struct OutboundMessage {
  std::string from;  // E.164, the operator's SMS sender number
  std::string to;    // E.164
  std::string body;  // text/plain, UTF-8
  // The line (extension) and company its traffic record belongs to; empty: no record.
  std::string record_company_id;
  std::string record_subject_id;
};

// What privox answers a call with when a line's box takes it (sip/proxy_voicemail.cpp): Debian's
// Asterisk prompts, read once at start.
struct VoicemailPrompts {
  using Sound = std::shared_ptr<const media::Prompt>;
  Sound the_person, is_unavailable, is_busy, leave_message, mailbox_full, tone;
  // Listening by phone: "you have", "new", "old", "message(s)", "no", "first", "next", the menu's
  // instructions, "deleted", "saved", "no more messages", "goodbye".
  Sound you_have, fresh, old, message, messages, no, first, next, instructions, deleted, saved, no_more, goodbye;
  // Logging in from another line, and the mailbox options: "extension", "password", "login
  // incorrect", the options menu, "after the tone, say your unavailable message", the review menu,
  // "enter your new password", "re-enter it", "they do not match", "password changed", "please try
  // again".
  Sound extension, password, login_incorrect, options, record_greeting, review, new_password, reenter_password,
      mismatch, password_changed, try_again;
  // Feature codes: "do not disturb", "activated", "de-activated".
  Sound do_not_disturb, activated, deactivated;
  // The receptionist: a default greeting spoken from the menu's keys ("hello", "for extension 2 0 1
  // <key>"), "invalid", "please enter the extension", "please hold while I try", "not answering",
  // and the keys '*' and '#'.
  Sound hello, for_, invalid, invalid_extension, hold_while_trying, not_answering, star, pound;
  // Conference bridges: "please enter the conference PIN", "that PIN is invalid", "the conference
  // is full", "you are the only person in this conference".
  Sound conf_get_pin, conf_invalid_pin, conf_full, conf_only_person;
  std::array<Sound, 21> digits;  // 0-20
  std::array<Sound, 8> tens;      // 30, 40, ... 90, then "hundred"
  // The spoken number, from these files ("twenty" "three"); 0-199.
  std::vector<Sound> number(int64_t n) const;
};
// The prompts in `directory` (en_US_f_Allison's layout), or an error naming the file that is missing
// or unreadable.
Result<VoicemailPrompts> load_voicemail_prompts(const std::string& directory);

// What the proxy asks of the voicemail store, off the SIP worker thread (the worker never touches
// the store): each answer comes back later on the worker thread.
class VoicemailBoxes {
 public:
  virtual ~VoicemailBoxes() = default;
  struct Counts {
    int64_t fresh = 0, heard = 0;  // RFC 3842's new and old
    bool operator==(const Counts&) const = default;
    bool total_nonzero() const { return fresh != 0 || heard != 0; }
  };
  using CountsByBox = std::unordered_map<std::string, Counts>;
  // What a caller who reaches the box hears: "mailbox full" when it holds as many messages as it
  // may, else the member's own greeting (null: the default one, which says the number).
  struct BoxState {
    bool full = false;
    std::shared_ptr<const media::Prompt> greeting;
  };
  virtual void prepare(std::string box_id, std::function<void(BoxState)> done) = 0;
  // The message counts of these boxes (absent: none); `done` gets nullopt when the store failed.
  virtual void counts(std::vector<std::string> boxes, std::function<void(std::optional<CountsByBox>)> done) = 0;

  // Listening by phone, as the box's own line (every read audited as the line's):
  struct MessageRef {
    std::string id;
    bool heard = false;
  };
  // The box's messages, new ones first, each group oldest first; nullopt when the store failed.
  virtual void messages(std::string box_id, std::function<void(std::optional<std::vector<MessageRef>>)> done) = 0;
  // One message's audio, ready to play; null when it cannot be read or opened.
  virtual void audio(std::string box_id, std::string message_id,
                     std::function<void(std::shared_ptr<const media::Prompt>)> done) = 0;
  virtual void mark_heard(std::string box_id, std::string message_id) = 0;
  virtual void remove(std::string box_id, std::string message_id) = 0;

  // Whether `pin` opens the box (an Argon2id check, never on the worker); false too when the box
  // has no PIN or the store failed. The PIN is wiped once checked.
  virtual void check_pin(std::string box_id, std::string pin, std::function<void(bool)> done) = 0;
  // The member sets the box's PIN by phone (voicemail::check_pin's rules); false when refused or
  // failed. The PIN is wiped once stored.
  virtual void set_pin(std::string box_id, std::string pin, std::function<void(bool)> done) = 0;
  // The member's greeting recorded by phone (Ogg Opus) replaces the box's; false when it failed.
  virtual void set_greeting(std::string box_id, std::string ogg, int64_t duration_ms,
                            std::function<void(bool)> done) = 0;
};

// What a phone changes of its own line's settings by feature code (kDndOnCode, kDndOffCode), off
// the SIP worker thread: each answer comes back later on the worker thread.
class LineSettingsDesk {
 public:
  virtual ~LineSettingsDesk() = default;
  // Turns the line's do-not-disturb on or off (callflow/forwarding.h, audited as the line's own
  // change); `done` gets whether it was stored.
  virtual void set_dnd(std::string line_id, bool on, std::function<void(bool)> done) = 0;
};

// Voicemail: every line's calls go to its box when no device is registered, when every device is
// busy, or when nobody answers within `ring_time_us`. The media endpoint plays the greeting and the
// tone and records; the finished message goes to `sink` with its audio, and leaves a traffic record
// of kind voicemail.
struct VoicemailDesk {
  media::Endpoint* endpoint = nullptr;
  voicemail::VoicemailSink* sink = nullptr;
  VoicemailBoxes* boxes = nullptr;  // full boxes and message-waiting (SUBSCRIBE message-summary)
  VoicemailPrompts prompts;
  int64_t ring_time_us = 25'000'000;
  int64_t max_message_ms = 180'000;
  int64_t silence_ms = 10'000;
  int64_t min_message_ms = 1'000;
  // voicemail.unsolicited_mwi: a line's registered devices that do not subscribe to message-summary
  // are sent a NOTIFY outside any subscription when its box's counts change (phones that expect it,
  // as many do from Asterisk).
  bool unsolicited_mwi = false;
};

// The virtual receptionist's menus for one call (sip/proxy_receptionist.cpp), read off the worker
// thread when the call arrives: which menu the company's hours choose now, and every menu its keys
// reach, with their greetings decoded.
struct ReceptionMenu {
  std::shared_ptr<const media::Prompt> greeting;  // the menu's own; null: the default, spoken from its keys
  std::map<char, std::string> spoken;             // key -> the number the default greeting names
  int timeout_seconds = 5;
  std::optional<callflow::MenuAction> timeout;
  std::map<char, callflow::MenuAction> keys;
};
struct ReceptionPlan {
  std::string company_id;
  std::string country;  // the company's, for its destination rules
  std::string first_menu;
  std::unordered_map<std::string, ReceptionMenu> menus;
};
class ReceptionistDesk {
 public:
  virtual ~ReceptionistDesk() = default;
  // The plan for a call to the receptionist now; null when it cannot be read (or is gone).
  virtual void prepare(std::string receptionist_id, std::function<void(std::shared_ptr<const ReceptionPlan>)> done) = 0;
  // Recording a menu's greeting by phone (callflow::kRecordMenuCode): the menu whose one-use code
  // of `company_id` `code` is (nullopt: none; the code is gone once claimed), and the greeting
  // stored as the menu's (`ogg` wiped either way; false when it could not be).
  virtual void claim_recording(std::string company_id, std::string code,
                               std::function<void(std::optional<std::string> menu_id)> done) = 0;
  virtual void save_greeting(std::string menu_id, std::string ogg, int64_t duration_ms, std::string line_id,
                             std::function<void(bool saved)> done) = 0;
};

// Conference rooms' PINs (sip/proxy_conference.cpp), read off the worker thread when a caller
// reaches a room: nullopt when the room is gone or its PIN cannot be read.
class ConferenceDesk {
 public:
  virtual ~ConferenceDesk() = default;
  virtual void prepare(std::string room_id, std::function<void(std::optional<std::string> pin)> done) = 0;
};

struct ProxyConfig {
  std::string host;  // how peers reach this proxy: "127.0.0.1" or "[::1]"
  uint16_t port = 5060;
  int64_t ring_timeout_us = 60'000'000;  // timer C: an unanswered call is given up after this
  // How many times one call may be sent on by forwards, ring groups' overflow and their fallbacks
  // before it is refused 483 (callflow.max_hops): what cuts a loop the configuration let through.
  int max_forward_hops = 5;
  // Music on hold (sip.music_on_hold_file): a WAV the media relay plays to the party a phone puts
  // on hold (a re-INVITE offering sendonly or inactive) until it is taken off hold; empty: none.
  std::string music_on_hold;
};

class RtpengineClient;
struct RelayLeg;
struct RelayReply;

class Proxy final : public TransactionUser {
 public:
  Proxy(ProxyConfig config, Directory& directory, Authenticator& auth, Location& location,
        traffic::TrafficSink& traffic, Sender& sender, TimerQueue& timers, const Clock& clock);

  // The transaction layer is built with this proxy as its user, and the registrar with the layer,
  // so both are attached afterwards, before the first message.
  void attach(TransactionLayer& layer, Registrar& registrar) {
    layer_ = &layer;
    registrar_ = &registrar;
  }
  // Where this proxy listens, once bound: what it writes into Via and Record-Route.
  void set_address(std::string host, uint16_t port);
  // With SIP over TLS, the port it listens on for TLS: what Via names toward a TLS peer.
  void set_tls_port(uint16_t port) { tls_port_ = port; }
  // Before the first message; nullptr (the default): one node alone. With the keyring every node
  // of the store shares (a copy of one master.key), a call for a phone whose flow another node
  // holds goes through that node, and this node relays such calls from the others to the phones
  // whose flows it holds (RFC 3327's Path between nodes, sip/proxy_nodes.cpp).
  void set_node_keys(const privacy::Keyring* keys) { node_keys_ = keys; }
  // "[2001:db8::1]" -> "2001:db8::1"; anything else as it is.
  static std::string_view strip_brackets(std::string_view host);

  void on_request(TxId tx, const Message& request, const Peer& from) override;
  void on_ack(const Message& ack, const Peer& from) override;
  void on_response(TxId tx, const Message& response) override;
  void on_timeout(TxId tx) override;
  void on_stray_response(const Message& response, const Peer& from) override;

  // Before the first message; nullptr (the default) routes every MESSAGE.
  void set_sms_inbox(SmsInbox* inbox) { inbox_ = inbox; }
  // Before the first message; nullptr (the default): media flows between the phones directly.
  void set_media_relay(RtpengineClient* relay) { relay_ = relay; }
  // Before the first message; nullptr (the default): calls nobody takes fail as they always did.
  void set_voicemail(VoicemailDesk* desk) { voicemail_ = desk; }
  // Before the first message; nullptr (the default): the feature codes are dialled like any number.
  // With a desk, a line dialling kDndOnCode or kDndOffCode sets its do-not-disturb and hears it
  // confirmed (sip/proxy_callflow.cpp).
  void set_line_settings(LineSettingsDesk* desk) { line_settings_ = desk; }
  // Before the first message, with set_voicemail(); nullptr (the default): a receptionist's number
  // is not answered (404). With a desk, privox answers it and plays its menu.
  void set_receptionist(ReceptionistDesk* desk) { receptionist_ = desk; }
  // Before the first message, with set_voicemail(); nullptr (the default): a conference room's
  // number is not answered (404). With a desk, privox asks for the room's PIN and joins the caller
  // to the room, mixed by the media endpoint, up to `max_participants` people.
  void set_conference(ConferenceDesk* desk, size_t max_participants) {
    conference_ = desk;
    max_conferees_ = max_participants;
  }
  // People in conference rooms now, in all.
  size_t conferees() const { return conferees_.size(); }
  // Before the first message; nullptr (the default): lines may call any destination. With a book,
  // an outbound call to a country its company does not allow, or to a premium-rate number it has
  // not allowed, is refused with 403 and leaves a failed record (rating/rate_table.h).
  void set_rates(const rating::RateBook* rates) { rates_ = rates; }
  // Before the first message; nullptr (the default): no live fraud rules. With a guard, a line's
  // new calls are counted and refused while an alert suspends (403) or throttles (503) it
  // (fraud/guard.h; sip/proxy_fraud.cpp).
  void set_fraud_guard(fraud::LineGuard* guard) { fraud_ = guard; }
  // Before the first message, with set_rates(); nullptr (the default): no wallet. With one, an
  // international rated call is refused 402 when the company's balance cannot pay its first charge
  // and 403 when its daily spend cap is reached, leaving a failed record (wallet/book.h).
  void set_wallet(wallet::WalletBook* wallet) { wallet_ = wallet; }
  // The endpoint finished a voicemail session (posted to this thread by the service).
  void on_voicemail_ended(media::SessionEnd end);
  // A key pressed in a menu session (listening by phone), posted to this thread by the service.
  void on_voicemail_key(uint64_t session, char key);
  // A menu session's recording (a greeting recorded by phone), posted to this thread by the service.
  void on_voicemail_recorded(uint64_t session, std::optional<media::Recording> recording);
  size_t voicemail_calls() const { return own_dialogs_.size(); }
  size_t subscriptions() const { return subscriptions_.size(); }
  // With VoicemailDesk::unsolicited_mwi, starts the sweep that tells unsubscribed devices; on the
  // worker thread, once it runs. Subscriptions start it themselves.
  void start_message_waiting();
  // What the media endpoint's sessions amounted to, for the operator (and bench/run-voicemail.sh).
  struct VoicemailTotals {
    uint64_t sessions = 0, recorded = 0, packets_in = 0, packets_out = 0, late_or_lost = 0, refused = 0;
  };
  const VoicemailTotals& voicemail_totals() const { return voicemail_totals_; }
  // Sends `message` as a UAC through the outbound trunk; `done` gets the final status (408 on
  // timeout, 503 when no trunk is provisioned), on this thread, exactly once.
  void send_message(const OutboundMessage& message, std::function<void(int status)> done);

  size_t calls_in_progress() const { return calls_.size(); }
  size_t dialogs() const { return dialogs_.size(); }
  // Post-dial delay, for the metrics: from a new call's INVITE to the first ringing (18x) or final
  // response a callee sends back, as rows per bucket (the last for anything slower).
  struct DelayHistogram {
    static constexpr std::array<int64_t, 9> kBoundsUs = {100'000,   250'000,   500'000,    1'000'000, 2'000'000,
                                                         3'000'000, 5'000'000, 10'000'000, 30'000'000};
    std::array<uint64_t, kBoundsUs.size() + 1> calls{};
    int64_t sum_us = 0;
  };
  const DelayHistogram& post_dial_delay() const { return post_dial_delay_; }

 private:
  struct Target {
    Peer peer;
    std::string request_uri;
    std::optional<Peer> through;  // the node that holds the phone's flow (Binding::through)
  };
  struct Branch {
    TxId tx = 0;
    int status = 0;  // 0 until a final response
    bool tls = false;  // sent over TLS: its SDES keys stay private (issue 16)
    Peer peer;         // where it went, and so where its answer's SDP came from
    MediaProfile offered = MediaProfile::keep;  // which of the relay's offers it got; keep: none
    std::optional<Peer> through;  // sent to the node that holds the phone's flow, which relays it
  };
  // One initial INVITE or MESSAGE being proxied: its server transaction, branches and record.
  struct Call {
    TxId server_tx = 0;
    Peer caller;
    std::string caller_tag;  // the caller's From tag: tells the dialog's two sides apart (Dialog)
    bool invite = true;
    std::vector<Branch> branches;
    int best_status = 0;
    std::string best_response;  // the forwarded form of the best final response so far
    bool final_sent = false;  // a final response was sent, or chosen and held
    bool answer_held = false;  // the 2xx waits until the call's record is durable (R1)
    bool held_statelessly = false;  // the held 2xx goes to the caller outside the transaction
    int held_status = 0;
    std::string held_answer;  // that 2xx, in its forwarded form
    bool cancelled = false;
    bool timed_out = false;
    bool dial_answered = false;  // a callee rang or answered: the post-dial delay is counted
    TimerQueue::Id ring_timer = 0;
    std::string call_id;
    std::string request;  // the request as received, for responses privox itself must build
    traffic::CallRecord record;  // id empty for in-dialog requests, which keep no record
    bool in_dialog = false;
    bool node_relay = false;  // relayed for another node (relay_for_node): no dialog of our own
    // The media relay: this INVITE's offer went to it; something (the offer, an answer) is at the
    // relay and the call waits for it; the 2xx's SDP as rewritten, for its retransmissions.
    bool relayed = false;
    bool relay_pending = false;
    std::string relayed_answer;
    // Where the request goes once the relay has rewritten its offer, and, for a ringing step that
    // needs the offer in another profile (sip/proxy_callflow.cpp ring), for how long it rings.
    std::vector<Target> pending_targets;
    int64_t pending_ring_us = 0;
    // What the relay offers the called side: SRTP only when every target is reached over TLS.
    MediaProfile callee_profile = MediaProfile::rtp;
    // The relay's offers for phones of another kind than callee_profile rung with them (a browser
    // beside a desk phone), by profile; an empty SDP: the relay refused it, and relayed_offer goes.
    std::vector<std::pair<MediaProfile, std::string>> branch_offers;
    bool hide_caller = false;
    bool to_trunk = false;
    // Voicemail: the box's line, and once privox answers for it, the endpoint's session.
    std::string box_id, box_company_id, box_number;  // the line called; empty: none
    std::string relayed_offer;  // the offer as the relay rewrote it: what the endpoint answers
    std::string carrier_sdp, carrier_tag;  // a call out through the trunk: the carrier's answer, as sent
    uint64_t voicemail_session = 0;
    bool voicemail_pending = false;  // the box is being looked up (is it full? its messages?)
    bool retrieval = false;          // the caller dialled kRetrievalCode: its own box answers
    bool login = false;              // or kLoginCode: a box of its company, by extension and PIN
    std::string asserted;  // P-Asserted-Identity: the line's DID to the trunk, its extension to a colleague; empty: none
    std::string receptionist_id;  // a receptionist's number or DID was called: privox answers
    std::string room_id;          // a conference room's number or DID was called: privox answers
    bool menu_recording = false;  // callflow::kRecordMenuCode dialled: privox answers
    char feature = 0;  // a feature code dialled: '+' do-not-disturb on, '-' off
    // A re-INVITE's hold (+1) or taking off hold (-1), and the tag of the party it holds.
    int8_t hold_change = 0;
    std::string held_tag;
    // Call features (sip/proxy_callflow.cpp): where the call is being sent now. `direct` is the
    // plain path (a line without forwarding, the trunk), which never looks at any of this.
    enum class Stage : uint8_t { direct, line, group, external } stage = Stage::direct;
    bool needs_routing = false;  // the stage is chosen; nothing is ringing yet
    std::string stage_id;        // the line or group rung now
    size_t group_start = 0;      // round robin: the member this call started with
    size_t group_step = 0;       // members (or, all at once, rings) tried so far
    std::string acting_line;     // the last line the call reached: whom an external forward is for
    std::string fallback_line;   // the last line called: whose box takes a call a broken target drops
    std::string flow_company;    // whose configuration the call follows: targets stay within it
    int hops = 0;
    // An external forward's own outbound record, for the line that forwarded (rated, policed).
    std::optional<traffic::CallRecord> leg;
  };
  // An answered call, by Call-ID, until its BYE.
  struct Dialog {
    traffic::CallRecord record;
    bool relayed = false;
    std::string relayed_answer;
    std::optional<traffic::CallRecord> leg;  // an external forward's outbound record
    std::string music_to;  // the tag of the party hearing music on hold; empty: none
    // A carrier's call to a phone, relayed (sip/proxy_transfer.cpp): the offer the phone got, and
    // the carrier's tag, so that the phone may transfer the carrier's party; once it does, the
    // transfer's key (privox holds the phone's side from then on).
    std::string phone_offer, carrier_tag;
    uint64_t transfer = 0;
    // A phone's call out through the trunk: the carrier's own SDP (the relay needs it to move the
    // phone's side, which made the offer, to the target).
    std::string carrier_sdp;
    // Where each side's messages came from, and the caller's From tag that tells them apart: an
    // in-dialog request to a Contact privox cannot reach as written goes over the other's flow.
    Peer caller_flow, callee_flow;
    std::string caller_tag;
  };

  // The trunk an in-dialog request came through when it comes from the dialog's carrier side (the
  // caller of a trunk's call in; the callee of a call out or of an external forward), else nullptr.
  static const std::string* carrier_trunk(const Message& request, const Dialog& d);

  // A call privox answered itself (voicemail), by Call-ID, until either side ends it.
  struct OwnDialog {
    uint64_t session = 0;
    traffic::CallRecord record;
    bool relayed = false;
    Peer caller;
    std::string bye;  // the BYE privox sends when the endpoint ends first, less its Via
    std::string answer;  // the SDP privox answered the caller with
  };
  std::unordered_map<std::string, OwnDialog> own_dialogs_;
  // What a session's message is filed with, by endpoint session.
  std::unordered_map<uint64_t, voicemail::NewMessage> voicemail_sessions_;
  VoicemailDesk* voicemail_ = nullptr;
  VoicemailTotals voicemail_totals_;
  const rating::RateBook* rates_ = nullptr;
  numbers::DestinationMemo destinations_;  // outbound calls' regions and number types, for the rules
  fraud::LineGuard* fraud_ = nullptr;
  wallet::WalletBook* wallet_ = nullptr;
  DelayHistogram post_dial_delay_;

  // Why a call goes to voicemail, which decides its greeting.
  enum class Unanswered : uint8_t { unavailable, busy, no_answer };
  // Answers `call` with its line's box; false when voicemail cannot take it (none configured, not
  // an INVITE to a line, no SDP offer, the endpoint full), and the call then ends as it would have.
  bool answer_with_voicemail(Call& call, Unanswered why);
  // The answer SDP for the caller is ready (from the relay, or the endpoint's own).
  void voicemail_answer_ready(TxId server_tx, const RelayReply& reply);
  void send_voicemail_answer(Call& call, std::string_view sdp);
  std::vector<std::shared_ptr<const media::Prompt>> greeting(std::string_view number, Unanswered why,
                                                             const std::shared_ptr<const media::Prompt>& own) const;
  // An in-dialog request in a call privox answered; false when the call is not one.
  bool handle_own_in_dialog(TxId tx, const Message& request);
  void end_own_dialog(const std::string& call_id, std::string_view reason);

  // Opens the endpoint's session once the box is known: greeting and recording, or "mailbox full".
  void open_voicemail(Call& call, Unanswered why, const VoicemailBoxes::BoxState& box);
  // Opens a session on the caller's offer and answers the caller with it; 0 when it refused the
  // call instead (and `call` may be gone either way).
  uint64_t open_session(Call& call, media::SessionPlan plan);
  // A finished message: to the sink, with its traffic record.
  void file_message(voicemail::NewMessage message, media::Recording& recording);

  // Listening by phone (sip/proxy_retrieval.cpp): a line dials kRetrievalCode and hears its box, or
  // kLoginCode and names a box of its company and that box's PIN first.
  enum class MenuStep : uint8_t { box_number, pin, messages, options, greeting, review, new_pin, repeat_pin };
  struct Retrieval {
    std::string box_id;  // empty until a login succeeds
    std::string company_id;
    MenuStep step = MenuStep::messages;
    std::string digits;       // keys toward the next '#' (an extension, a PIN)
    std::string entered_box;  // the box a login named; empty: no such extension
    std::string new_pin;      // the first entry of a new PIN, until it is repeated
    int failed_logins = 0;
    TimerQueue::Id login_timer = 0;
    std::vector<VoicemailBoxes::MessageRef> messages;
    size_t current = 0;
    std::shared_ptr<const media::Prompt> audio;  // the current message's
    bool loading = false;
    bool busy = false;  // a PIN check or a save is at the store: keys wait
    // Keys pressed while loading or busy, replayed in order once that ends: a caller who knows the
    // menu types ahead, and a slow store must not turn "5 4821#" into "4821#".
    std::string typed_ahead;
    std::string greeting;  // a greeting recorded and under review (Ogg Opus), and how long it plays
    int64_t greeting_ms = 0;
  };
  std::unordered_map<uint64_t, Retrieval> retrievals_;  // by endpoint session
  // Failed PIN logins per box, so that no line can try a box's PINs without end.
  struct PinFailures {
    int count = 0;
    int64_t since_us = 0;
  };
  std::unordered_map<std::string, PinFailures> pin_failures_;
  void answer_retrieval(Call& call);
  void list_box(uint64_t session, std::vector<VoicemailBoxes::MessageRef> messages,
                std::shared_ptr<const media::Prompt> first);
  void load_box(uint64_t session);
  void replay_typed_ahead(uint64_t session);
  // Plays message `index` of the session's box (loading it first), after `before`.
  void play_message(uint64_t session, size_t index, std::vector<VoicemailPrompts::Sound> before);
  void message_key(uint64_t session, Retrieval& r, char key);
  void login_key(uint64_t session, Retrieval& r, char key);
  void pin_checked(uint64_t session, bool opened);
  void options_key(uint64_t session, Retrieval& r, char key);
  void review_key(uint64_t session, Retrieval& r, char key);
  void new_pin_key(uint64_t session, Retrieval& r, char key);
  bool box_locked(const std::string& box_id);
  void box_looked_up(TxId server_tx, Unanswered why, const VoicemailBoxes::BoxState& box);
  // The box's state is looked up (is it full? its greeting?), then the endpoint answers.
  void look_up_box(Call& call, Unanswered why);
  // The relay's plain offer for the box, made again after TLS phones were offered SRTP.
  void plain_offer_made(TxId server_tx, Unanswered why, RelayReply reply);

  // The virtual receptionist (sip/proxy_receptionist.cpp): privox answers the call with a menu
  // session, and hands the caller on by a leg of its own, which it sends to itself so that the
  // proxy routes it like any call (forwarding, groups, voicemail, its record); the relay then joins
  // the caller's media to whoever answers it.
  struct Reception {
    std::shared_ptr<const ReceptionPlan> plan;
    std::string menu;  // the one playing
    int plays = 0;
    int menus_played = 0;  // in all: timeouts that lead from menu to menu end some time
    enum class Mode : uint8_t { menu, extension, connecting, connected } mode = Mode::menu;
    std::string digits;  // dial-by-extension, up to '#'
    TimerQueue::Id timer = 0;
    std::string call_id, caller_tag, own_tag;  // the caller's dialog with privox
    // Whose outbound call a leg to the trunk is (the receptionist, or the transferor's line), and
    // its DID (E.164, may be empty), asserted to the carrier.
    std::string owner_id, owner_did;
    std::string source;  // the caller's number, for the leg's record
    bool withheld = false;
    traffic::Direction direction = traffic::Direction::inbound;
    std::string trunk_id;
    // The leg privox sends: its target, the token its Request-URI carries (proof that privox sent
    // it, checked in constant time), its INVITE transaction and dialog.
    callflow::MenuAction target;
    std::string leg_token;
    TxId leg_tx = 0;
    std::string leg_call_id, leg_from, leg_to, leg_remote, leg_route;
    uint32_t leg_cseq = 1;
    std::string offer;       // the relay's offer for the caller's call: what the leg offers
    // A transfer of a carrier's party (sip/proxy_transfer.cpp) rather than a menu: no endpoint
    // session; the transferor's side of the carrier's dialog, as its REFER named it, and whether
    // the transferor is still there to be told how it went.
    bool transfer = false;
    bool transferor_here = false;
    // The side privox replaces made the call's offer (a phone's call out): the relay learns the
    // target by an offer from that side and the carrier's SDP as the answer, not by an answer.
    bool replaced_side_offered = false;
    std::string carrier_sdp;
    Peer transferor;
    std::string transferor_contact, as_transferor_from, as_transferor_to, carrier_target, carrier_route;
    std::optional<Peer> carrier_next;  // where a request to the carrier goes first
    uint32_t carrier_cseq = 0, notify_cseq = 1000;
    std::string replaces;  // an attended transfer: the consultation call the target replaces
    std::string leg_answer;  // the SDP of whoever answered the leg
  };
  std::unordered_map<uint64_t, Reception> receptions_;        // by endpoint session, or transfer key
  uint64_t transfer_counter_ = 0;  // transfer keys: the top bit set, apart from endpoint sessions
  std::unordered_map<TxId, uint64_t> leg_invites_;            // the leg's INVITE -> session
  std::unordered_map<std::string, uint64_t> legs_;            // the leg's Call-ID -> session
  ReceptionistDesk* receptionist_ = nullptr;
  void answer_receptionist(Call& call, const callflow::Receptionist& receptionist);
  void reception_prepared(TxId server_tx, std::shared_ptr<const ReceptionPlan> plan);
  void play_menu(uint64_t session, Reception& r, std::vector<std::shared_ptr<const media::Prompt>> before = {});
  void reception_timeout(uint64_t session);
  void reception_key(uint64_t session, Reception& r, char key);
  void take_action(uint64_t session, Reception& r, const callflow::MenuAction& action);
  void send_leg(uint64_t session, Reception& r, const callflow::MenuAction& target);
  void leg_answered(uint64_t session, const Message& response);
  void leg_joined(uint64_t session, const RelayReply& reply);
  // Tells the relay that the replaced side (own_tag) now sends and receives at `sdp`'s address,
  // keeping every port; `done` gets the relay's last reply.
  void move_replaced_side(const Reception& r, std::string_view sdp, std::function<void(const RelayReply&)> done);
  void leg_failed(uint64_t session, int status);
  // The leg arriving back at this proxy: routed to its target like a call from the caller.
  bool handle_leg(TxId tx, const Message& request, const Peer& from);
  // The leg's call in the proxy, as handle_initial would open one for it.
  Call& open_leg_call(TxId tx, const Message& request, const Peer& from, const Reception& r, traffic::CallRecord record);
  // An answered dialog's record closes (answered, with `reason`) and the dialog is forgotten.
  void close_dialog_record(const std::string& call_id, std::string_view reason);
  // A leg to an external number: the receptionist's own outbound call through the trunk, judged by
  // the company's destination rules, wallet and fraud rules like any outbound call.
  void leg_to_trunk(TxId tx, const Message& request, const Peer& from, const Reception& r, traffic::CallRecord record);
  // In-dialog requests of either side once joined; false when the request is not one.
  bool handle_joined_in_dialog(TxId tx, const Message& request);
  void send_leg_request(Reception& r, std::string_view method);
  void end_reception(uint64_t session, bool caller_gone);
  // A phone's REFER in a carrier's call to it: privox takes the phone's side and hands the carrier's
  // party to the target by a leg (sip/proxy_transfer.cpp); false when the request is not one.
  callflow::MenuAction outside_transfer_target(const ExtensionInfo& transferor, const std::string& e164) const;
  bool take_transfer(TxId tx, const Message& request, const Peer& from, Dialog& dialog);
  // A request in a dialog privox took over from the transferor: answered here.
  void handle_taken_over(TxId tx, const Message& request, Dialog& dialog);
  void notify_transferor(Reception& r, std::string_view sipfrag, bool final);
  // privox, as the transferor, ends the carrier's dialog, and closes its record.
  void hang_up_carrier(Reception& r);
  // Conference bridges (sip/proxy_conference.cpp): privox answers with a menu session, asks for the
  // room's PIN, and joins the caller to the room the endpoint mixes.
  struct Conferee {
    std::string room_id;
    std::string pin;     // the room's, compared in constant time; wiped when the caller goes
    std::string digits;  // keyed in so far, up to '#'
    int tries = 0;
    bool joined = false;
  };
  struct ConferenceRoomState {
    uint64_t mix_id = 0;  // the endpoint's number for the room
    size_t members = 0;
  };
  std::unordered_map<uint64_t, Conferee> conferees_;  // by endpoint session
  std::unordered_map<std::string, ConferenceRoomState> conference_rooms_;  // by room id: those with someone in
  uint64_t next_mix_id_ = 1;
  ConferenceDesk* conference_ = nullptr;
  size_t max_conferees_ = 10;
  // The room a line dialled: a company room by its number, or a line's own by kLineRoomCode and
  // the line's number; null when none.
  const callflow::ConferenceRoom* room_dialled(std::string_view company_id, std::string_view dialled);
  void answer_conference(Call& call);
  void conference_prepared(TxId server_tx, std::optional<std::string> pin);
  void conference_key(uint64_t session, Conferee& c, char key);
  void end_conferee(uint64_t session);
  // A menu's greeting recorded by phone (sip/proxy_menu_recording.cpp): the caller keys the
  // portal's one-use code and '#', then speaks after the tone.
  struct MenuRecording {
    std::string company_id, line_id;
    std::string digits;   // the code keyed so far; wiped once claimed
    std::string menu_id;  // once the code is claimed
    int tries = 0;        // codes refused, and recordings too short
    bool busy = false;    // the desk is claiming or saving
  };
  std::unordered_map<uint64_t, MenuRecording> menu_recordings_;  // by endpoint session
  void answer_menu_recording(Call& call);
  void menu_recording_key(uint64_t session, MenuRecording& m, char key);
  void menu_code_claimed(uint64_t session, std::optional<std::string> menu_id);
  // True when the session is a menu recording's (`recording` is then taken care of).
  bool menu_greeting_recorded(uint64_t session, std::optional<media::Recording>& recording);
  void end_menu_recording(uint64_t session);
  // A key from a SIP INFO's body (application/dtmf-relay "Signal=5" or application/dtmf "5");
  // '\0' when it carries none.
  static char info_key(const Message& request);
  std::vector<std::shared_ptr<const media::Prompt>> default_menu_greeting(const ReceptionMenu& menu) const;

  // Message waiting (RFC 3842, sip/proxy_mwi.cpp): a phone's subscription to its own line's box,
  // by Call-ID. NOTIFYs go at once and whenever the sweep finds the counts changed.
  struct Subscription {
    std::string box_id;
    std::string account;  // Message-Account: the line's address of record
    Peer peer;
    std::string head;     // the NOTIFY's request line, Route, From, To and Call-ID lines
    uint32_t cseq = 0;
    int64_t expires_at_us = 0;
    std::optional<VoicemailBoxes::Counts> told;  // what the last NOTIFY said
  };
  std::unordered_map<std::string, Subscription> subscriptions_;
  std::unordered_map<TxId, std::string> notifies_;  // NOTIFYs in flight: client tx -> Call-ID
  TimerQueue::Id mwi_timer_ = 0;
  bool mwi_sweeping_ = false;
  uint64_t subscription_counter_ = 0;
  void handle_subscribe(TxId tx, const Message& request, const Peer& from);
  void challenge_subscriber(TxId tx, const Message& request, bool stale, const Peer& from);
  // Ends the box's subscriptions that expire soonest until `keep` are left.
  void drop_oldest_beyond(const std::string& box_id, size_t keep);
  // A refresh or end of a subscription; false when the Call-ID holds none.
  bool handle_own_subscription(TxId tx, const Message& request, const Peer& from);
  void notify(const std::string& call_id, const VoicemailBoxes::Counts* counts, std::string_view state);
  void notify_current(const std::string& call_id);
  void schedule_mwi_sweep();
  void mwi_sweep();
  void notify_answered(TxId client, int status);
  // Unsolicited message waiting: what each box's unsubscribed devices were last told.
  std::unordered_map<std::string, VoicemailBoxes::Counts> unsolicited_told_;
  void notify_unsolicited(const VoicemailBoxes::CountsByBox& counts, const std::vector<std::string>& boxes);

  // Where an in-dialog request or a 2xx ACK goes, and whether our Route entry is to be removed.
  struct DialogHop {
    std::optional<Peer> target;
    bool pop_route = false;
    bool pop_second_route = false;  // our second entry of a double Record-Route (RFC 5658)
  };
  std::unordered_map<TxId, DialogHop> pending_hops_;  // in-dialog INVITEs whose offer is at the relay
  DialogHop next_hop(const Message& request) const;
  // An address privox must not send to as a Contact names it: private or local, but not loopback.
  static bool beyond_reach(const Peer& peer);
  // The flow of the dialog's other side from the request's sender, when the dialog is known.
  const Peer* dialog_flow(const Message& request) const;
  // Why the caller's company may not call this E.164 destination through the trunk; nullopt: it may.
  std::optional<std::string> destination_refused(std::string_view company_id, std::string_view country,
                                                 std::string_view e164,
                                                 const numbers::Destination& where) const;

  void handle_initial(TxId tx, const Message& request, const Peer& from);

  // Call features (sip/proxy_callflow.cpp): forwarding, do-not-disturb and ring groups.
  // Whether a call to `callee` must go through them (it has forwarding or do-not-disturb).
  static bool has_features(const ExtensionInfo& callee) { return callee.forwarding.any(); }
  // Sends a call whose stage is chosen (needs_routing) on its way: rings, forwards, or answers.
  void route(Call& call);
  // All branches of a featured call are final and none answered: the next step (a forward, the
  // group's next member, its overflow); false when the call ends as a plain one would.
  bool advance(Call& call);
  void enter_line(Call& call, const ExtensionInfo& line);
  void enter_group(Call& call, const callflow::RingGroup& group);
  void ring_line(Call& call, const ExtensionInfo& line);
  void ring_group_step(Call& call, const callflow::RingGroup& group);
  // The busy treatment of a line (every device busy, or do-not-disturb).
  void line_busy(Call& call, const ExtensionInfo& line);
  void send_to(Call& call, const callflow::Target& target, Unanswered why);
  void forward_external(Call& call, const std::string& e164);
  // A target that is gone or cannot be used: the acting line's box, else the failure `status`.
  void fall_back(Call& call, Unanswered why, int status, std::string_view reason);
  // Starts a new ringing step on `targets` with its own ring time.
  void ring(Call& call, const std::vector<Target>& targets, int64_t ring_us);
  std::vector<Target> targets_of(const ExtensionInfo& line, int64_t now_us) const;
  void close_leg(Call& call, int status);
  // A feature code (kDndOnCode, kDndOffCode): stores the change, then confirms it.
  void apply_feature_code(Call& call);
  void feature_code_stored(TxId server_tx, bool on, bool stored);
  LineSettingsDesk* line_settings_ = nullptr;
  uint16_t tls_port_ = 0;
  // The hold music for a company's calls: its own if it uploaded one, else the node's setting.
  const std::string& music_for(std::string_view company_id);
  // A re-INVITE that holds or resumes was answered: the held party's music starts or stops.
  void music_on_hold(const Call& call, Dialog& dialog);
  // Round robin: which member each group's next call starts with.
  std::unordered_map<std::string, size_t> group_next_;
  // A MESSAGE from a trusted trunk for the SMS inbox: answered and handed over; false if not one.
  bool deliver_to_inbox(TxId tx, const Message& request, const TrunkInfo* trunk);
  // A final response (or timeout) to a MESSAGE privox sent itself.
  // `equipment`: what the carrier's final answer names (User-Agent or Server); empty on a timeout.
  void finish_own(TxId client, int status, std::string equipment = {});
  void handle_in_dialog(TxId tx, const Message& request, const Peer& from);
  void handle_cancel(TxId tx, const Message& request, const Peer& from);
  void respond(TxId tx, const Message& request, int status, std::string_view reason);
  // The live fraud rules' verdict on a call `caller` places (sip/proxy_fraud.cpp): true when it
  // was refused, answered and its failed record closed.
  bool refused_for_fraud(TxId tx, const Message& request, const ExtensionInfo& caller, traffic::CallRecord& record,
                         int64_t now_us);
  void challenge(TxId tx, const Message& request, bool stale, const Peer& to);

  // Sends the request to each target as a new branch of `call`, with `body` instead of its own
  // when given (the relay's offer; a phone of another kind gets its own, Call::branch_offers).
  void fork(Call& call, const Message& request, const std::vector<Target>& targets,
            std::optional<std::string_view> body = std::nullopt);
  // The Route value that sends a request for `request_uri` through `node`, the node that holds the
  // phone's flow: it names the node, with a token only a holder of the nodes' shared key makes.
  std::string node_route(const Peer& node, std::string_view call_id, std::string_view request_uri) const;
  // A new INVITE or MESSAGE another node routed through this one (node_route): relayed to the
  // phone whose flow this node holds, with no record of its own (the other node keeps the call's).
  // False when the request's first Route is not such a route.
  bool relay_for_node(TxId tx, const Message& request, const Peer& from);
  // `record_route`: this proxy's Record-Route, for a new dialog relayed for another node.
  void forward_in_dialog(Call& call, const Message& request, const DialogHop& hop,
                         std::optional<std::string_view> body = std::nullopt, std::string_view record_route = {});
  // The relay's reply to the offer of the INVITE of `server_tx`: forward it rewritten, or refuse.
  void offered(TxId server_tx, RelayReply reply);
  // The offer that goes to phones of the call's primary kind (relayed_offer, which privox's own
  // endpoint also answers): SRTP only when every target's hop is TLS, webrtc only when every one
  // is a browser, else plain.
  static MediaProfile profile_for(const std::vector<Target>& targets);
  // What one target needs: webrtc for a browser, SRTP over TLS (which alone keeps the SDES keys
  // secret), plain RTP otherwise.
  static MediaProfile target_profile(const Target& target);
  // Forks a relayed call to `targets` once the relay has an offer for each kind of phone among
  // them, asking it for the first one missing (branch_offered goes on) when it has not.
  void fork_each_kind(Call& call, const Message& request, const std::vector<Target>& targets);
  void branch_offered(TxId server_tx, MediaProfile profile, RelayReply reply);
  // The call's offer in `profile` besides relayed_offer; null when none was asked for.
  static const std::string* branch_offer(const Call& call, MediaProfile profile);
  // The offer branch `client` got.
  static const std::string& offer_sent_to(const Call& call, TxId client);
  // What the caller's side needs in the relay's answer: ICE for a browser (webrtc), else as is.
  static MediaProfile answer_profile(const Call& call);
  // The relay leg for an SDP that `sender` sent; when the SDP names a private address other than
  // the sender's (a phone behind NAT), the relay is told to send to the sender's address instead
  // (RelayLeg::nat_source), never into a private network it cannot reach. Valid until the next call.
  // `offered`: the called side's offer it is or answers (RelayLeg::branch); keep: one whose tags
  // the relay knows.
  RelayLeg relay_leg(std::string_view call_id, std::string_view from_tag, std::string_view to_tag, const Peer& sender,
                     std::string_view sdp, MediaProfile offered = MediaProfile::keep);
  // For a line of a company that requires encryption: the status and reason that refuse a request
  // sent in clear (403) or an offer of plain audio (488); nullopt when it may go on.
  static std::optional<std::pair<int, std::string_view>> unencrypted_refusal(const ExtensionInfo& caller,
                                                                           const Message& request, const Peer& from);
  // The relay's reply to an offer made again for a ringing step's profile: rings it, or refuses.
  void reoffered(TxId server_tx, RelayReply reply);
  // On the call's first answer, whether each leg was encrypted (traffic::CallRecord): TLS and an
  // SDP that encrypts, the caller's as the caller gets it and the callee's as branch `client` sent it.
  void note_encryption(Call& call, TxId client, std::string_view caller_sdp, std::string_view callee_sdp);
  // The relay's reply to the answer in a 2xx (`raw`) on branch `client`.
  void answered_by_relay(TxId server_tx, TxId client, bool first_answer, const std::string& raw,
                         std::string equipment, RelayReply reply);
  // The same for an 18x's early media.
  void early_media_relayed(TxId server_tx, const std::string& raw, RelayReply reply);
  // A 2xx on branch `client`, in its forwarded form: answers the call (held for R1) or passes on.
  void accept_answer(Call& call, TxId client, int status, bool first_answer, std::string forwarded,
                     std::string equipment);
  // privox answers the caller itself with a final failure and closes the call's record.
  void refuse(Call& call, int status, std::string_view reason);
  // A final non-2xx response (already in its forwarded form) on one branch.
  void on_final(Call& call, size_t branch, int status, std::string forwarded);
  // Every branch is final: answer the caller with the best response and close the record.
  void finish(Call& call);
  // The answered call's record is durable (or could not be made so): send the held 2xx (or 500).
  void release_answer(TxId server_tx, const Status& durable);
  void forget_if_done(Call& call);
  void ring_timeout(TxId server_tx);
  void forget(TxId server_tx);

  // A failed or ended attempt's outcome for its traffic record, from its final status.
  static traffic::Outcome outcome_for(int status, bool cancelled, bool timed_out);
  std::string new_branch();
  std::string via_for(const Peer& to, std::string_view branch) const;
  bool names_us(const Uri& uri) const;
  std::optional<Peer> peer_for_uri(const Uri& uri) const;
  std::optional<Peer> peer_for_via(const Via& via) const;

  ProxyConfig config_;
  std::string record_route_;
  std::string record_route_scratch_;  // record_route_for's answer for TLS legs
  std::string relay_source_;          // relay_leg's answer's nat_source
  // The Record-Route value for a call from a `caller` to a `callee` transport: one entry on the
  // SIP port, one on the TLS port when both are TLS, or both (RFC 5658) when they differ.
  std::string_view record_route_for(TransportKind caller, TransportKind callee);
  Directory& directory_;
  Authenticator& auth_;
  Registrar* registrar_ = nullptr;
  Location& location_;
  traffic::TrafficSink& traffic_;
  Sender& sender_;
  TimerQueue& timers_;
  const Clock& clock_;
  TransactionLayer* layer_ = nullptr;

  uint64_t branch_seed_ = 0;
  uint64_t branch_counter_ = 0;
  std::unordered_map<TxId, Call> calls_;       // by server transaction
  std::unordered_map<TxId, TxId> branch_of_;   // client transaction -> server transaction
  SmsInbox* inbox_ = nullptr;
  struct OwnMessage {
    std::function<void(int)> done;
    traffic::CallRecord record;  // id empty: no record
  };
  std::unordered_map<TxId, OwnMessage> own_;  // MESSAGEs privox sent, by client transaction
  RtpengineClient* relay_ = nullptr;
  const privacy::Keyring* node_keys_ = nullptr;
  // Answered calls by Call-ID, waiting for their BYE.
  std::unordered_map<std::string, Dialog> dialogs_;
  // Calls relayed for another node, by Call-ID: the phone's flow, for the dialog's requests to a
  // Contact that names no registration (a TCP phone's connection port, a browser's ".invalid").
  // Removed by the BYE or a failed INVITE; a dialog whose BYE never came is swept after a day.
  struct NodeFlow {
    Peer phone;
    int64_t since_us = 0;
  };
  std::unordered_map<std::string, NodeFlow> node_flows_;
  size_t node_flows_sweep_at_ = 1024;
  void remember_node_flow(const std::string& call_id, const Peer& phone);
};

}  // namespace privox::sip
