#include "sip/service.h"

#include <boost/asio/post.hpp>
#include <signal.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>

#include "accounts/accounts.h"
#include "accounts/business_hours.h"
#include "accounts/time_zone.h"
#include "callflow/forwarding.h"
#include "callflow/conference.h"
#include "callflow/receptionist.h"
#include "callflow/targets.h"
#include "common/log.h"
#include "sip/authenticator.h"
#include "sip/bans.h"
#include "sip/digest.h"
#include "sip/directory_loader.h"
#include "sip/location.h"
#include "sip/memory_directory.h"
#include "sip/proxy.h"
#include "sip/registrar.h"
#include "sip/rtpengine.h"
#include "sip/server.h"
#include "sip/store_bindings.h"
#include "sip/timer_queue.h"
#include "store/append_writer.h"
#include "store/clock_skew.h"
#include "store/schema.h"
#include "store/settings.h"
#include "common/worker.h"
#include "media/prompt.h"
#include "traffic/store_sink.h"
#include "fraud/guard.h"
#include "voicemail/greetings.h"
#include "voicemail/options.h"
#include "voicemail/store.h"
#include "wallet/book.h"

namespace privox::sip {
namespace {

// The voicemail store as the proxy asks it (VoicemailBoxes): each question is a read on a thread
// of its own, and the answer is posted back to the SIP worker.
class StoreBoxes final : public VoicemailBoxes {
 public:
  StoreBoxes(boost::asio::io_context& io, store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : io_(io), store_(store), keys_(keys), clock_(clock),
        reader_(WorkerOptions{.name = "privox-vm-boxes", .max_queue = 10'000}) {
    reader_.start(run_tasks);
  }
  ~StoreBoxes() override { reader_.stop(); }

  void prepare(std::string box_id, std::function<void(BoxState)> done) override {
    const uint64_t posted = reader_.post([this, box_id = std::move(box_id), done]() mutable {
      int64_t held = 0, most = 0;
      std::optional<std::string> own;
      // The limit is read with the count: an operator's change applies to the next call.
      const Status read = store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
        PRIVOX_ASSIGN(held, voicemail::count_in_box(s, box_id));
        PRIVOX_ASSIGN(most, store::Settings(store_).integer(s, "retention.voicemail_max_messages"));
        PRIVOX_ASSIGN(own, voicemail::greeting_for_caller(s, keys_, box_id));
        return {};
      });
      // A store that cannot answer does not stop a caller from leaving a message (the sink checks
      // the limit again when it stores it); the default greeting plays.
      if (!read.ok()) log::warn("sip", "voicemail.box_lookup_failed", {{"error", log::error_code(read.error())}});
      BoxState box;
      box.full = read.ok() && held >= most;
      if (read.ok() && own) {
        auto decoded = media::load_ogg_opus(*own);
        sodium_memzero(own->data(), own->size());
        if (decoded) box.greeting = std::make_shared<const media::Prompt>(std::move(*decoded));
        else log::warn("sip", "voicemail.greeting_undecodable", {{"error", log::error_code(decoded.error())}});
      }
      boost::asio::post(io_, [done = std::move(done), box = std::move(box)] { done(box); });
    });
    if (posted == 0) boost::asio::post(io_, [done = std::move(done)] { done({}); });
  }

  void counts(std::vector<std::string> boxes, std::function<void(std::optional<CountsByBox>)> done) override {
    const uint64_t posted = reader_.post([this, boxes = std::move(boxes), done]() mutable {
      std::optional<CountsByBox> out;
      const Status read = store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
        PRIVOX_ASSIGN(const auto by_box, voicemail::count_by_box(s, boxes));
        out.emplace();
        for (const auto& [box, c] : by_box) (*out)[box] = Counts{c.fresh, c.heard};
        return {};
      });
      if (!read.ok()) log::warn("sip", "voicemail.counts_failed", {{"error", log::error_code(read.error())}});
      boost::asio::post(io_, [done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
    });
    if (posted == 0) boost::asio::post(io_, [done = std::move(done)] { done(std::nullopt); });
  }

  void messages(std::string box_id, std::function<void(std::optional<std::vector<MessageRef>>)> done) override {
    run([this, box_id = std::move(box_id), done = std::move(done)]() mutable {
      std::optional<std::vector<MessageRef>> out;
      auto listed = voicemail::list_messages(store_, keys_, clock_, own_box(box_id), box_id);
      if (listed) {
        out.emplace();
        // New messages first, each group oldest first (list_messages gives newest first).
        for (auto it = listed->rbegin(); it != listed->rend(); ++it) out->push_back({it->id, it->heard_at_us != 0});
        std::stable_partition(out->begin(), out->end(), [](const MessageRef& m) { return !m.heard; });
      } else {
        log::warn("sip", "voicemail.list_failed", {{"error", log::error_code(listed.error())}});
      }
      boost::asio::post(io_, [done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
    });
  }

  void audio(std::string box_id, std::string message_id,
             std::function<void(std::shared_ptr<const media::Prompt>)> done) override {
    run([this, box_id = std::move(box_id), message_id = std::move(message_id), done = std::move(done)]() mutable {
      std::shared_ptr<const media::Prompt> prompt;
      auto opened = voicemail::open_audio(store_, keys_, clock_, own_box(box_id), message_id, box_id);
      if (opened) {
        auto decoded = media::load_ogg_opus(opened->audio);
        sodium_memzero(opened->audio.data(), opened->audio.size());
        if (decoded) prompt = std::make_shared<const media::Prompt>(std::move(*decoded));
        else log::warn("sip", "voicemail.message_undecodable", {{"error", log::error_code(decoded.error())}});
      } else {
        log::warn("sip", "voicemail.message_unopenable", {{"error", log::error_code(opened.error())}});
      }
      boost::asio::post(io_, [done = std::move(done), prompt = std::move(prompt)]() mutable { done(std::move(prompt)); });
    });
  }

  void mark_heard(std::string box_id, std::string message_id) override {
    run([this, box_id = std::move(box_id), message_id = std::move(message_id)] {
      if (Status s = voicemail::mark_heard(store_, clock_, own_box(box_id), message_id); !s.ok())
        log::warn("sip", "voicemail.mark_heard_failed", {{"error", log::error_code(s.error())}});
    });
  }

  void remove(std::string box_id, std::string message_id) override {
    run([this, box_id = std::move(box_id), message_id = std::move(message_id)] {
      if (Status s = voicemail::delete_message(store_, keys_, clock_, own_box(box_id), message_id, box_id); !s.ok())
        log::warn("sip", "voicemail.delete_failed", {{"error", log::error_code(s.error())}});
    });
  }

  void check_pin(std::string box_id, std::string pin, std::function<void(bool)> done) override {
    run([this, box_id = std::move(box_id), pin = std::move(pin), done = std::move(done)]() mutable {
      std::optional<std::string> hash;
      const Status read = store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
        PRIVOX_ASSIGN(hash, voicemail::pin_hash_of(s, box_id));
        return {};
      });
      if (!read.ok()) log::warn("sip", "voicemail.pin_unreadable", {{"error", log::error_code(read.error())}});
      const bool opened = hash && voicemail::pin_matches(*hash, pin);
      sodium_memzero(pin.data(), pin.size());
      if (!opened) log::info("sip", "voicemail.pin_refused", {{"box", log::Id(box_id)}});
      boost::asio::post(io_, [done = std::move(done), opened] { done(opened); });
    });
  }

  void set_pin(std::string box_id, std::string pin, std::function<void(bool)> done) override {
    run([this, box_id = std::move(box_id), pin = std::move(pin), done = std::move(done)]() mutable {
      const Status set = voicemail::set_pin(store_, keys_, clock_, own_box(box_id), box_id, pin, box_id);
      sodium_memzero(pin.data(), pin.size());
      if (!set.ok()) log::warn("sip", "voicemail.pin_not_set", {{"box", log::Id(box_id)}, {"error", log::error_code(set.error())}});
      boost::asio::post(io_, [done = std::move(done), stored = set.ok()] { done(stored); });
    });
  }

  void set_greeting(std::string box_id, std::string ogg, int64_t duration_ms,
                    std::function<void(bool)> done) override {
    run([this, box_id = std::move(box_id), ogg = std::move(ogg), duration_ms, done = std::move(done)]() mutable {
      const Status set =
          voicemail::set_recorded_greeting(store_, keys_, clock_, own_box(box_id), box_id, ogg, duration_ms, box_id);
      if (!set.ok()) log::warn("sip", "voicemail.greeting_not_stored", {{"error", log::error_code(set.error())}});
      boost::asio::post(io_, [done = std::move(done), stored = set.ok()] { done(stored); });
    });
  }

 private:
  // The line's own box, read by the line's member through their phone (P7: their own data).
  static voicemail::Scope own_box(const std::string& box_id) {
    voicemail::Scope scope;
    scope.purpose = privacy::Purpose::service;
    scope.viewer = traffic::Viewer::line_holder;
    scope.boxes = std::vector<std::string>{box_id};
    return scope;
  }
  void run(Task task) {
    if (reader_.post(std::move(task)) == 0) log::warn("sip", "voicemail.reader_full");
  }

  boost::asio::io_context& io_;
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  Worker<Task> reader_;
};

// A line's settings changed from its phone (feature codes), written on a thread of its own; the
// answer is posted back to the SIP worker.
class StoreLineSettings final : public LineSettingsDesk {
 public:
  StoreLineSettings(boost::asio::io_context& io, store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : io_(io), forwardings_(store, keys, clock), writer_(WorkerOptions{.name = "privox-line-set", .max_queue = 1'000}) {
    writer_.start(run_tasks);
  }
  ~StoreLineSettings() override { writer_.stop(); }

  void set_dnd(std::string line_id, bool on, std::function<void(bool)> done) override {
    const uint64_t posted = writer_.post([this, line_id = std::move(line_id), on, done]() mutable {
      // The line's own change from its own phone: the line is the actor its audit entry names.
      const Status set = forwardings_.set_dnd(line_id, on, line_id);
      if (!set.ok()) log::warn("sip", "callflow.dnd_not_set", {{"line", log::Id(line_id)}, {"error", log::error_code(set.error())}});
      boost::asio::post(io_, [done = std::move(done), stored = set.ok()] { done(stored); });
    });
    if (posted == 0) boost::asio::post(io_, [done = std::move(done)] { done(false); });
  }

 private:
  boost::asio::io_context& io_;
  callflow::Forwardings forwardings_;
  Worker<Task> writer_;
};

// A conference room's PIN, read on a thread of its own when a caller reaches the room.
class StoreConference final : public ConferenceDesk {
 public:
  StoreConference(boost::asio::io_context& io, store::Store& store, const privacy::Keyring& keys)
      : io_(io), store_(store), keys_(keys), reader_(WorkerOptions{.name = "privox-conference", .max_queue = 10'000}) {
    reader_.start(run_tasks);
  }
  ~StoreConference() override { reader_.stop(); }

  void prepare(std::string room_id, std::function<void(std::optional<std::string>)> done) override {
    const uint64_t posted = reader_.post([this, id = std::move(room_id), done]() mutable {
      std::optional<std::string> pin;
      const Status read = store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
        PRIVOX_ASSIGN(pin, callflow::pin_for_caller(s, keys_, id));
        return {};
      });
      if (!read.ok()) log::warn("sip", "conference.pin_unreadable", {{"error", log::error_code(read.error())}});
      boost::asio::post(io_, [done = std::move(done), pin = std::move(pin)]() mutable { done(std::move(pin)); });
    });
    if (posted == 0) boost::asio::post(io_, [done = std::move(done)] { done(std::nullopt); });
  }

 private:
  boost::asio::io_context& io_;
  store::Store& store_;
  const privacy::Keyring& keys_;
  Worker<Task> reader_;
};

// The receptionist's menus for one call, read on a thread of its own when the call arrives (a
// change in the portal applies to the next call), with the greetings decoded there.
class StoreReceptionist final : public ReceptionistDesk {
 public:
  StoreReceptionist(boost::asio::io_context& io, store::Store& store, const privacy::Keyring& keys, const Clock& clock)
      : io_(io), store_(store), keys_(keys), clock_(clock),
        reader_(WorkerOptions{.name = "privox-reception", .max_queue = 10'000}) {
    reader_.start(run_tasks);
  }
  ~StoreReceptionist() override { reader_.stop(); }

  void prepare(std::string receptionist_id,
               std::function<void(std::shared_ptr<const ReceptionPlan>)> done) override {
    const uint64_t posted = reader_.post([this, id = std::move(receptionist_id), done]() mutable {
      std::shared_ptr<const ReceptionPlan> plan;
      const Status read = store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
        PRIVOX_ASSIGN(plan, read_plan(s, id));
        return {};
      });
      if (!read.ok()) log::warn("sip", "receptionist.plan_unreadable", {{"error", log::error_code(read.error())}});
      boost::asio::post(io_, [done = std::move(done), plan = std::move(plan)] { done(plan); });
    });
    if (posted == 0) boost::asio::post(io_, [done = std::move(done)] { done(nullptr); });
  }

  void claim_recording(std::string company_id, std::string code,
                       std::function<void(std::optional<std::string>)> done) override {
    auto keyed = std::make_shared<std::string>(std::move(code));  // wiped here whether or not it is posted
    const uint64_t posted = reader_.post([this, company = std::move(company_id), keyed, done]() mutable {
      std::optional<std::string> menu;
      const Status claimed = store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
        PRIVOX_ASSIGN(menu, callflow::claim_phone_recording_code(s, keys_, company, *keyed, clock_.now_us()));
        return {};
      });
      sodium_memzero(keyed->data(), keyed->size());
      if (!claimed.ok()) log::warn("sip", "receptionist.code_unclaimed", {{"error", log::error_code(claimed.error())}});
      boost::asio::post(io_, [done = std::move(done), menu = std::move(menu)]() mutable { done(std::move(menu)); });
    });
    if (posted == 0) {
      sodium_memzero(keyed->data(), keyed->size());
      boost::asio::post(io_, [done = std::move(done)] { done(std::nullopt); });
    }
  }

  void save_greeting(std::string menu_id, std::string ogg, int64_t duration_ms, std::string line_id,
                     std::function<void(bool)> done) override {
    auto audio = std::make_shared<std::string>(std::move(ogg));
    const uint64_t posted = reader_.post([this, menu = std::move(menu_id), audio, duration_ms,
                                          line = std::move(line_id), done]() mutable {
      callflow::Receptionists receptionists(store_, keys_, clock_);
      const Status saved = receptionists.set_recorded_greeting(menu, *audio, duration_ms, line);
      sodium_memzero(audio->data(), audio->size());
      if (!saved.ok()) log::warn("sip", "receptionist.greeting_unsaved", {{"error", log::error_code(saved.error())}});
      boost::asio::post(io_, [done = std::move(done), ok = saved.ok()] { done(ok); });
    });
    if (posted == 0) {
      sodium_memzero(audio->data(), audio->size());
      boost::asio::post(io_, [done = std::move(done)] { done(false); });
    }
  }

 private:
  Result<std::shared_ptr<const ReceptionPlan>> read_plan(store::Session& s, const std::string& id) {
    PRIVOX_ASSIGN(const std::optional<callflow::Receptionist> receptionist, callflow::receptionist_by_id(s, id));
    if (!receptionist) return Error{ErrorCode::not_found, "receptionist", "the receptionist is gone"};
    auto plan = std::make_shared<ReceptionPlan>();
    plan->company_id = receptionist->company_id;
    PRIVOX_ASSIGN(const accounts::Company company, accounts::find_company(s, receptionist->company_id));
    plan->country = company.country;
    plan->first_menu = receptionist->open_menu_id;
    if (receptionist->closed_menu_id) {
      PRIVOX_ASSIGN(const bool open, company_open(s, receptionist->company_id));
      if (!open) plan->first_menu = *receptionist->closed_menu_id;
    }
    // Every menu the first one's keys reach, each read once.
    std::vector<std::string> pending{plan->first_menu};
    if (receptionist->closed_menu_id) pending.push_back(receptionist->open_menu_id);
    while (!pending.empty() && plan->menus.size() < 100) {
      const std::string menu_id = std::move(pending.back());
      pending.pop_back();
      if (plan->menus.count(menu_id)) continue;
      PRIVOX_ASSIGN(const std::optional<callflow::Menu> menu, callflow::menu_by_id(s, menu_id));
      if (!menu || menu->company_id != plan->company_id) continue;
      PRIVOX_ASSIGN(ReceptionMenu read, read_menu(s, *menu));
      for (const auto& [key, action] : menu->keys)
        if (action.kind == callflow::MenuActionKind::menu) pending.push_back(action.ref);
      if (menu->timeout && menu->timeout->kind == callflow::MenuActionKind::menu) pending.push_back(menu->timeout->ref);
      plan->menus.emplace(menu_id, std::move(read));
    }
    return std::shared_ptr<const ReceptionPlan>(std::move(plan));
  }

  Result<ReceptionMenu> read_menu(store::Session& s, const callflow::Menu& menu) {
    ReceptionMenu out;
    out.timeout_seconds = menu.timeout_seconds;
    out.timeout = menu.timeout;
    out.keys = menu.keys;
    using K = callflow::MenuActionKind;
    for (const auto& [key, action] : menu.keys) {
      if (action.kind != K::line && action.kind != K::group && action.kind != K::voicemail) continue;
      const callflow::TargetKind kind = action.kind == K::group ? callflow::TargetKind::group : callflow::TargetKind::line;
      auto number = callflow::target_number(s, callflow::Target{kind, action.ref});
      if (number) out.spoken[key] = std::move(*number);
    }
    if (!menu.has_greeting) return out;
    auto own = callflow::greeting_for_caller(s, keys_, menu.id);
    if (!own || !*own) return out;  // a greeting that cannot be read: the default plays
    auto decoded = media::load_ogg_opus(**own);
    sodium_memzero((*own)->data(), (*own)->size());
    if (decoded) out.greeting = std::make_shared<const media::Prompt>(std::move(*decoded));
    else log::warn("sip", "receptionist.greeting_undecodable", {{"error", log::error_code(decoded.error())}});
    return out;
  }

  // Whether the company is open now by its business hours; one that never set them is open.
  Result<bool> company_open(store::Session& s, const std::string& company_id) {
    PRIVOX_ASSIGN(const accounts::CompanyHours hours, accounts::read_company_hours(s, company_id));
    if (!hours.week) return true;
    PRIVOX_ASSIGN(const accounts::Company company, accounts::find_company(s, company_id));
    // A zone the ICU data no longer knows (it was checked when set) is judged in UTC.
    auto zone = accounts::TimeZone::find(company.time_zone);
    return accounts::is_open(*hours.week, hours.holidays, zone ? *zone : accounts::TimeZone::utc(), clock_.now_us());
  }

  boost::asio::io_context& io_;
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
  Worker<Task> reader_;
};

constexpr auto kHeartbeat = std::chrono::seconds(1);
constexpr auto kHousekeeping = std::chrono::seconds(30);
constexpr int64_t kSchemaCheckUs = 10'000'000;  // how often a node checks the store's schema is still its own
constexpr int64_t kClockCheckUs = 10'000'000;   // how often a node measures its clock against the store's
// How often the guard forgets idle sources, in heartbeats.
constexpr uint64_t kGuardSweepBeats = 2;
// Records and bindings wait this long for company in one commit, which turns a stream of
// single-row fsyncs into a few grouped ones; a commit of fewer than kGroupCommitRows waits on for
// more, up to kGroupCommitMaxUs in all. With the fixed wait alone, a node carrying a third of a
// cluster's calls committed 1.3 rows a transaction against one node's 2.7, and paid 17-32% more
// CPU per call (bench/RESULTS.md, "Calls across nodes"). Three rows is about what one node at 150
// calls/s gathers anyway, so a node at a third of that waits until its commits are as full, and
// the bound lets it: 2 rows a call at 50 calls/s bring two more in 20 ms. A row is then durable
// within the wait, the commit in progress and its own: well inside R1's 50 ms.
// 10 ms was tried (2026-12-07): up to 9% less CPU per call at 1,500 calls/s, but the writer's p99 at
// 50,000 rows/s on SQLite rose from 25 ms to 56 ms, past the 50 ms goal (bench/RESULTS.md, "Rules
// cost").
constexpr int64_t kGroupCommitUs = 3'000;
constexpr size_t kGroupCommitRows = 3;
constexpr int64_t kGroupCommitMaxUs = 25'000;

// Hands what the server parsed to the transaction layer.
class LayerSink final : public MessageSink {
 public:
  explicit LayerSink(TransactionLayer& layer) : layer_(layer) {}
  void on_message(const Message& message, const Peer& from) override { layer_.receive(message, from); }

 private:
  TransactionLayer& layer_;
};

std::array<uint8_t, 32> nonce_key(const privacy::Keyring& keys) {
  // Derived from the master key, so every node sharing it checks every node's nonces.
  const Bytes derived = keys.blind_index("sip-nonce-key", "v1");
  std::array<uint8_t, 32> key{};
  std::copy(derived.begin(), derived.end(), key.begin());
  return key;
}

}  // namespace

struct SipService::Parts {
  Parts(boost::asio::io_context& io_, store::Store& store_, std::unique_ptr<store::Store> writer_store,
        const privacy::Keyring& keys_, const Clock& clock_, SipOptions options_)
      : io(io_), store(store_), keys(keys_), clock(clock_), options(std::move(options_)), store_time(clock),
        writer(std::move(writer_store),
               store::AppendOptions{.on_batch =
                                        [this](const store::BatchOutcome& batch) {
                                          // Runs on the writer's thread; what waits for it belongs
                                          // to the worker.
                                          boost::asio::post(io, [this, batch] {
                                            traffic.completed(batch);
                                            bindings.completed(batch);
                                          });
                                        },
                                    .group_commit_us = kGroupCommitUs,
                                    .group_commit_rows = kGroupCommitRows,
                                    .group_commit_max_us = kGroupCommitMaxUs}),
        server(io, timers, clock, options.tcp),
        loader(store, keys,
               [this](std::shared_ptr<const DirectoryUpdate> update) {
                 // Runs on the loader's thread; the directory belongs to the worker.
                 boost::asio::post(io, [this, update = std::move(update)] {
                   directory.apply(*update);
                   for (const std::string& line : update->removed_extensions) location.forget(line);
                 });
               },
               DirectoryLoaderOptions{.music_dir = options.music_dir}),
        hasher(keys),
        store_bans(writer),
        guard(options.guard, directory, hasher, &store_bans, clock),
        key(nonce_key(keys)),
        nonces(key, clock),
        auth(directory, nonces, "privox", options.challenge_algorithms),
        bindings(store, writer, keys, clock, options.node_id),
        location(&bindings),
        traffic(writer, keys, store_time, options.node_id),
        counted_traffic(traffic),
        proxy(ProxyConfig{.host = options.host,
                          .port = options.port,
                          .ring_timeout_us = options.ring_timeout_us,
                          .max_forward_hops = options.max_forward_hops,
                          .music_on_hold = options.music_on_hold},
              directory, auth, location, counted_traffic, server, timers, clock),
        layer(server, timers, clock, proxy, {}, options.limits),
        registrar(layer, auth, location, clock, RegistrarConfig{.flow_timer_s = options.outbound_keepalive_s}),
        sink(layer),
        heartbeat_timer(io),
        housekeeping_timer(io) {}

  boost::asio::io_context& io;
  store::Store& store;
  const privacy::Keyring& keys;
  const Clock& clock;
  const SipOptions options;
  // This node's time in the store's terms: its heartbeats and its judgement of other nodes'
  // silence, so that neither depends on this machine's clock being right (store/clock_skew.h).
  MachineClock machine_clock;
  OffsetClock store_time;
  bool clock_was_skewed = false;  // on the loader's thread: node.clock_skewed is logged on each change
  store::AppendWriter writer;
  TimerQueue timers;
  Server server;
  MemoryDirectory directory;
  DirectoryLoader loader;
  BanHasher hasher;
  StoreBans store_bans;
  SourceGuard guard;
  std::array<uint8_t, 32> key;
  NonceService nonces;
  Authenticator auth;
  StoreBindings bindings;
  Location location;
  traffic::StoreSink traffic;
  fraud::CountingSink counted_traffic;  // tells the live fraud rules when a call ends
  Proxy proxy;
  TransactionLayer layer;
  Registrar registrar;
  LayerSink sink;
  std::unique_ptr<RtpengineClient> relay;  // null without a media relay
  // Voicemail (null without): the sink's thread stores messages; the endpoint's thread answers.
  std::unique_ptr<voicemail::StoreSink> voicemail_sink;
  std::unique_ptr<StoreBoxes> voicemail_boxes;
  std::unique_ptr<StoreLineSettings> line_settings;
  std::unique_ptr<StoreReceptionist> receptionist;
  std::unique_ptr<StoreConference> conference;
  VoicemailDesk desk;
  std::unique_ptr<media::Endpoint> endpoint;  // after the sink and desk: its thread reports to them
  bool endpoint_started = false;
  std::mutex ended_mutex;
  std::vector<media::SessionEnd> ended_sessions;  // guarded by ended_mutex

  void file_ended() {
    std::vector<media::SessionEnd> ended;
    {
      std::lock_guard lock(ended_mutex);
      ended.swap(ended_sessions);
    }
    for (media::SessionEnd& end : ended) proxy.on_voicemail_ended(std::move(end));
  }
  // The store's clock against this machine's: kept for store_time, and said in the log when it
  // crosses sip.max_clock_skew_ms either way. An unreachable store keeps the last offset.
  void measure_clock() {
    const Result<store::ClockOffset> reading = store::measure_clock_offset(store, machine_clock);
    if (!reading.ok()) return;
    store_time.set_offset_us(reading->offset_us);
    const bool skewed = store::clock_skewed(*reading, options.max_clock_skew_us);
    if (skewed == clock_was_skewed) return;
    clock_was_skewed = skewed;
    const int64_t offset_ms = reading->offset_us / 1000;
    if (skewed)
      log::error("sip", "node.clock_skewed", {{"offset_ms", offset_ms}, {"max_ms", options.max_clock_skew_us / 1000}});
    else
      log::info("sip", "node.clock_in_step", {{"offset_ms", offset_ms}});
  }

  boost::asio::steady_timer heartbeat_timer;
  boost::asio::steady_timer housekeeping_timer;
  bool started = false;  // on the worker thread: a softphone's channel is taken only between start and stop
  bool stopped = false;
  uint64_t beats = 0;

  void beat() {
    traffic.heartbeat();
    if (++beats % kGuardSweepBeats == 0) guard.sweep(clock.now_us());
    heartbeat_timer.expires_after(kHeartbeat);
    heartbeat_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec && !stopped) beat();
    });
  }

  // rtpengine on the worker's own loop; the proxy sends every SDP through it from the first call.
  Status start_media_relay() {
    if (!options.media_relay) return {};
    relay = std::make_unique<RtpengineClient>(io, timers, clock, *options.media_relay);
    relay->set_timers_changed([this] { server.reschedule_timers(); });
    PRIVOX_TRY(relay->open());
    proxy.set_media_relay(relay.get());
    log::info("sip", "media_relay.configured");  // its address is in the configuration, not the log
    return {};
  }

  // The media endpoint on its own thread; what it ends comes back to this one, to the proxy.
  Status start_voicemail() {
    if (!options.voicemail) return {};
    const VoicemailOptions& v = *options.voicemail;
    PRIVOX_ASSIGN(desk.prompts, load_voicemail_prompts(v.sounds));
    voicemail_sink = std::make_unique<voicemail::StoreSink>(store, keys, clock);
    // Ended sessions wait in a queue the worker drains, so that stop() can drain it too: a message
    // finished as the node stops is still filed.
    const auto ended = [this](media::SessionEnd end) {
      {
        std::lock_guard lock(ended_mutex);
        ended_sessions.push_back(std::move(end));
      }
      boost::asio::post(io, [this] { file_ended(); });
    };
    const auto pressed = [this](uint64_t session, char pressed_key) {
      boost::asio::post(io, [this, session, pressed_key] {
        if (!stopped) proxy.on_voicemail_key(session, pressed_key);
      });
    };
    const auto recorded = [this](uint64_t session, std::optional<media::Recording> recording) {
      boost::asio::post(io, [this, session, recording = std::move(recording)]() mutable {
        if (!stopped) return proxy.on_voicemail_recorded(session, std::move(recording));
        if (recording) sodium_memzero(recording->ogg.data(), recording->ogg.size());
      });
    };
    PRIVOX_ASSIGN(endpoint, media::Endpoint::start(v.endpoint, ended, pressed, recorded));
    voicemail_boxes = std::make_unique<StoreBoxes>(io, store, keys, clock);
    endpoint_started = true;
    desk.endpoint = endpoint.get();
    desk.sink = voicemail_sink.get();
    desk.boxes = voicemail_boxes.get();
    desk.ring_time_us = v.ring_time_us;
    desk.max_message_ms = v.max_message_ms;
    desk.silence_ms = v.silence_ms;
    desk.min_message_ms = v.min_message_ms;
    desk.unsolicited_mwi = v.unsolicited_mwi;
    proxy.set_voicemail(&desk);
    boost::asio::post(io, [this] {
      if (!stopped) proxy.start_message_waiting();
    });
    log::info("sip", "voicemail.configured",
              {{"first_port", v.endpoint.first_port}, {"last_port", v.endpoint.last_port},
               {"ring_s", v.ring_time_us / 1'000'000}});
    return {};
  }

  void housekeeping() {
    bindings.purge_expired();
    store_bans.purge_expired(clock.now_us());
    housekeeping_timer.expires_after(kHousekeeping);
    housekeeping_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec && !stopped) housekeeping();
    });
  }
};

SipService::SipService(boost::asio::io_context& io, store::Store& store, std::unique_ptr<store::Store> writer_store,
                       const privacy::Keyring& keys, const Clock& clock, SipOptions options)
    : parts_(std::make_unique<Parts>(io, store, std::move(writer_store), keys, clock, std::move(options))) {}

SipService::~SipService() { stop(); }

Status SipService::start() {
  Parts& p = *parts_;
  p.measure_clock();  // before anything this node writes in the store's time
  PRIVOX_ASSIGN(const int64_t closed, traffic::close_open_calls(p.store, p.options.node_id, p.store_time));
  if (closed > 0) log::warn("sip", "calls.closed_after_restart", {{"calls", closed}});
  // The store is read here, before the server listens, and never again on this thread: from now on
  // the loader's thread follows provisioning changes and posts them here.
  PRIVOX_ASSIGN(const std::shared_ptr<const DirectoryUpdate> directory, p.loader.load_all());
  p.directory.apply(*directory);
  // Bans made anywhere, and the place in their log to follow from; the loader posts what changes.
  p.loader.follow_bans(p.clock, [&p](std::shared_ptr<const BanUpdate> update) {
    boost::asio::post(p.io, [&p, update = std::move(update)] { p.guard.apply(*update, p.clock.now_us()); });
  });
  PRIVOX_ASSIGN(const std::shared_ptr<const BanUpdate> bans, p.loader.load_bans());
  p.guard.apply(*bans, p.clock.now_us());
  // A node killed and never restarted leaves its answered calls open: the first node to see its
  // heartbeat stop ends them.
  p.loader.add_chore(p.options.node_silent_us / 3, [&p] {
    auto ended =
        traffic::close_calls_of_silent_nodes(p.store, p.options.node_id, p.store_time, p.options.node_silent_us);
    if (!ended.ok())
      log::warn("sip", "calls.silent_node_close_failed", {{"error", log::error_code(ended.error())}});
    else if (*ended > 0)
      log::warn("sip", "calls.closed_for_silent_node", {{"calls", *ended}});
    // Its phones' flows died with it: no node relays their calls to it any more.
    auto dropped = drop_flows_of_silent_nodes(p.store, p.options.node_id, p.store_time, p.options.node_silent_us);
    if (!dropped.ok())
      log::warn("sip", "bindings.silent_node_drop_failed", {{"error", log::error_code(dropped.error())}});
    else if (*dropped > 0)
      log::warn("sip", "bindings.dropped_for_silent_node", {{"bindings", *dropped}});
  });
  p.loader.add_chore(kClockCheckUs, [&p] { p.measure_clock(); });
  // A newer node migrated the shared store while this one serves: this binary no longer knows the
  // schema it writes to, so it stops, as it would have refused to start (store::check_schema).
  p.loader.add_chore(kSchemaCheckUs, [&p] {
    const Result<int> version = p.store.schema_version();
    if (!version.ok() || *version == store::latest_schema_version()) return;  // an unreachable store is retried
    log::error("sip", "schema.changed_under_node",
               {{"store_version", *version}, {"node_version", store::latest_schema_version()}});
    ::kill(::getpid(), SIGTERM);  // serve's own stop: calls are closed and records flushed
  });
  PRIVOX_TRY(p.start_media_relay());
  PRIVOX_TRY(p.start_voicemail());
  p.line_settings = std::make_unique<StoreLineSettings>(p.io, p.store, p.keys, p.clock);
  p.proxy.set_line_settings(p.line_settings.get());
  if (p.endpoint_started) {
    p.receptionist = std::make_unique<StoreReceptionist>(p.io, p.store, p.keys, p.clock);
    p.proxy.set_receptionist(p.receptionist.get());
    p.conference = std::make_unique<StoreConference>(p.io, p.store, p.keys);
    p.proxy.set_conference(p.conference.get(), p.options.max_conferees);
  }
  p.auth.set_failures(&p.guard);
  p.auth.set_flow_credentials(&p.server);
  p.server.set_guard(&p.guard);
  PRIVOX_TRY(p.server.listen(p.options.host, p.options.port));
  if (p.options.tls) PRIVOX_TRY(p.server.listen_tls(p.options.tls_host, p.options.tls_port, p.options.tls));
  // The proxy names itself in Via and Record-Route by the address it listens on.
  p.proxy.set_address(p.server.advertised_host(), p.server.port());
  // Other nodes reach the phones whose flows this node holds at that address (sip/store_bindings.h),
  // so the bindings are read once it is known, still before the sink takes the first request.
  // A node listening on every address (0.0.0.0) names no address the others could use: its
  // phones' flows are then reached only through it, as before nodes relayed for each other.
  Peer self;
  if (Peer::parse(Proxy::strip_brackets(p.server.advertised_host()), p.server.port(), TransportKind::udp, self) &&
      std::any_of(self.address.begin(), self.address.end(), [](uint8_t b) { return b != 0; }))
    p.bindings.set_self(self);
  p.bindings.set_pin_keeper(
      [&p](const CertificatePin& pin, int64_t until_us) { return p.server.adopt_pin(pin, until_us); });
  PRIVOX_ASSIGN(const StoreBindings::Restored restored, p.bindings.restore_all(p.location));
  if (restored.dead_flows > 0) log::info("sip", "bindings.dead_flows_removed", {{"bindings", restored.dead_flows}});
  p.registrar.learn_contacts(p.location);
  // Registrations taken by every node sharing the store, from where restore_all() read.
  p.loader.follow_bindings(restored.log_seq, p.bindings.self(), p.options.node_id,
                           [&p](std::shared_ptr<const BindingUpdate> update) {
                             boost::asio::post(p.io, [&p, update = std::move(update)] {
                               if (!p.stopped) p.registrar.apply_shared(*update);
                             });
                           });
  if (p.options.tls) p.proxy.set_tls_port(p.server.tls_port());
  p.proxy.attach(p.layer, p.registrar);
  p.proxy.set_node_keys(&p.keys);
  p.server.set_sink(&p.sink);
  PRIVOX_TRY(p.loader.start());
  p.beat();
  p.housekeeping();
  p.started = true;
  log::info("sip", "service.started",
            {{"port", p.server.port()}, {"tls_port", p.server.tls_port()}, {"extensions", p.directory.extensions()}, {"bindings_restored", restored.bindings},
             {"bans", bans->bans.size()}});
  const GuardLimits& g = p.options.guard;
  log::info("sip", "guard.configured",
            {{"rate_requests", g.rate_requests}, {"rate_window_ms", g.rate_window_us / 1000},
             {"rate_limit_on", g.rate_requests != 0}, {"ban_failures", g.ban_failures},
             {"failure_window_s", g.failure_window_us / 1'000'000}, {"first_ban_s", g.ban_us / 1'000'000},
             {"trusted_ranges", g.trusted.size()}});
  return {};
}

void SipService::stop() {
  Parts& p = *parts_;
  if (p.stopped) return;
  p.stopped = true;
  p.loader.stop();
  p.server.stop();
  p.heartbeat_timer.cancel();
  p.housekeeping_timer.cancel();
  if (p.relay) p.relay->stop();
  if (p.endpoint) {
    // Calls still in their box end as hang-ups: what was recorded is filed before the sink stops.
    p.endpoint->finish_all();
    p.file_ended();
    // Every session, menus handed on included: what an operator reads media quality from.
    const media::EndpointTotals m = p.endpoint->totals();
    log::info("media", "media.totals",
              {{"sessions", m.sessions}, {"rtp_in", m.packets_in}, {"rtp_out", m.packets_out},
               {"rtp_late_or_lost", m.late_or_lost}, {"rtp_sent_late", m.sent_late}, {"rtp_unsent", m.unsent},
               {"rtp_refused", m.refused}});
  }
  p.endpoint.reset();
  if (p.endpoint_started) {
    const Proxy::VoicemailTotals& t = p.proxy.voicemail_totals();
    log::info("sip", "voicemail.totals",
              {{"sessions", t.sessions}, {"messages", t.recorded}, {"rtp_in", t.packets_in}, {"rtp_out", t.packets_out},
               {"rtp_late_or_lost", t.late_or_lost}, {"rtp_refused", t.refused}});
  }
  if (p.voicemail_sink) p.voicemail_sink->stop();
  p.voicemail_boxes.reset();
  p.line_settings.reset();
  p.receptionist.reset();
  p.conference.reset();
  if (Status s = p.traffic.flush(); !s.ok()) log::error("sip", "traffic.flush_failed", {{"error", log::error_code(s.error())}});
}

void SipService::adopt(std::shared_ptr<MessageChannel> channel, ChannelIdentity identity) {
  Parts* p = parts_.get();
  boost::asio::post(p->io, [p, channel = std::move(channel), identity = std::move(identity)]() mutable {
    if (!p->started || p->stopped) return channel->close();
    const std::string& realm = p->auth.realm();
    FlowCredential credential{identity.sip_user,
                              digest_ha1(DigestAlgorithm::md5, identity.sip_user, realm, identity.password),
                              digest_ha1(DigestAlgorithm::sha256, identity.sip_user, realm, identity.password)};
    p->server.attach_websocket(std::move(channel), std::move(credential));
    p->server.reschedule_timers();
  });
}

uint16_t SipService::port() const { return parts_->server.port(); }

uint16_t SipService::tls_port() const { return parts_->server.tls_port(); }

void SipService::reload_tls(TlsContexts contexts) {
  parts_->server.set_tls_contexts(std::move(contexts));
}

Status SipService::flush_voicemail() {
  return parts_->voicemail_sink ? parts_->voicemail_sink->flush() : Status{};
}

void SipService::set_max_transactions(size_t max_in_flight) { parts_->layer.set_max_in_flight(max_in_flight); }

SipSnapshot SipService::snapshot() const {
  const Parts& p = *parts_;
  SipSnapshot out;
  out.server = p.server.stats();
  out.tcp_connections = p.server.tcp_connections();
  out.transactions = p.layer.stats();
  if (p.relay) out.relay = p.relay->stats();
  out.transactions_working = p.layer.in_flight();
  out.guard = p.guard.stats();
  out.guard_sources = p.guard.sources();
  const int64_t now = p.clock.now_us();
  p.location.for_each([&out, now](const std::string&, const Binding& b) {
    ++out.bindings;
    if (b.expires_at_us > now) ++out.live_bindings;
  });
  out.calls = p.proxy.calls_in_progress();
  out.dialogs = p.proxy.dialogs();
  out.post_dial_delay = p.proxy.post_dial_delay();
  out.writer = p.writer.stats();
  out.traffic_dropped = p.traffic.stats().dropped;
  out.clock_offset_us = p.store_time.offset_us();
  out.voicemail = p.endpoint_started;
  out.voicemail_totals = p.proxy.voicemail_totals();
  if (p.endpoint) out.media_totals = p.endpoint->totals();
  if (p.voicemail_sink) out.voicemail_store = p.voicemail_sink->stats();
  return out;
}

void SipService::set_rates(const rating::RateBook* rates) {
  parts_->traffic.set_rates(rates);
  parts_->proxy.set_rates(rates);
}

void SipService::set_wallet(wallet::WalletBook* wallet) {
  parts_->proxy.set_wallet(wallet);
  parts_->traffic.set_priced_hook([wallet](const traffic::CallRecord& record, int64_t cost, std::string_view currency) {
    wallet->closed(record.id, cost, currency);
  });
}

void SipService::set_fraud_guard(fraud::LineGuard* guard) {
  parts_->counted_traffic.set_guard(guard);
  parts_->proxy.set_fraud_guard(guard);
}

void SipService::set_sms_inbox(SmsInbox* inbox) { parts_->proxy.set_sms_inbox(inbox); }

void SipService::send_message(OutboundMessage message, std::function<void(int status)> done) {
  Parts* p = parts_.get();
  boost::asio::post(p->io, [p, message = std::move(message), done = std::move(done)]() mutable {
    if (p->stopped) return done(503);  // a message posted after io.stop() is lost: senders bound their wait
    p->proxy.send_message(message, std::move(done));
  });
}

}  // namespace privox::sip
