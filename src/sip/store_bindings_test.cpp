#include "sip/store_bindings.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <optional>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "store/test_stores.h"

namespace privox::sip {
namespace {

// Bindings made durable and read back after a "restart", on both backends.
class StoreBindingsTest : public store::MigratedStoreTest {
 protected:
  void SetUp() override {
    MigratedStoreTest::SetUp();
    if (HasFatalFailure()) return;
    accounts::Accounts accounts(*store_, keys_, clock_);
    const std::string company = *accounts.add_company({"Acme Ltd", "eea", ""}, "cli:test");
    accounts::Extensions extensions(*store_, keys_, clock_);
    extension_ = *extensions.add_extension({company, "101", "correct-horse-7", std::nullopt, std::nullopt}, "cli:test");
    writer_ = std::make_unique<store::AppendWriter>(
        std::move(test_store_->open()).value(),
        store::AppendOptions{.on_batch = [this](const store::BatchOutcome& b) {
          std::lock_guard lock(mutex_);
          batches_.push_back(b);
        }});
    bindings_ = std::make_unique<StoreBindings>(*store_, *writer_, keys_, clock_, "node-a");
  }

  // What the worker's event loop does in privox serve: hand each finished batch to the bindings.
  void deliver(bool all_written = true) {
    const Status flushed = writer_->flush();  // the last row's outcome
    if (all_written) {
      ASSERT_TRUE(flushed.ok());
    }
    std::vector<store::BatchOutcome> batches;
    {
      std::lock_guard lock(mutex_);
      batches.swap(batches_);
    }
    for (const store::BatchOutcome& b : batches) bindings_->completed(b);
  }

  Binding binding(const std::string& contact, uint16_t port) {
    Binding b;
    b.contact = contact;
    EXPECT_TRUE(Peer::parse("192.0.2.7", port, TransportKind::udp, b.peer));
    b.expires_at_us = clock_.now_us() + 3'600'000'000;
    b.user_agent = "Grandstream GXP2170";
    b.call_id = "reg-1";
    b.cseq = 7;
    return b;
  }

  // A binding on a connection (TCP or TLS) whose phone listens at its Contact on its own host.
  Binding listening_on(TransportKind kind, const std::string& contact, uint16_t port, uint64_t connection) {
    Binding b = binding(contact, port);
    b.peer.transport = kind;
    b.peer.connection = connection;
    b.peer.listens = true;
    return b;
  }

  privacy::SecretKey master_ = privacy::SecretKey::random();
  privacy::Keyring keys_ = privacy::Keyring::from_master_for_test(master_);
  FakeClock clock_{1'795'000'000'000'000};
  std::string extension_;
  std::mutex mutex_;
  std::vector<store::BatchOutcome> batches_;
  std::unique_ptr<store::AppendWriter> writer_;
  std::unique_ptr<StoreBindings> bindings_;
};

TEST_P(StoreBindingsTest, ChangesAreAnsweredOnlyOnceDurableAndSurviveARestart) {
  Location location(bindings_.get());
  int answered = 0;
  location.apply({{extension_, binding("sip:101@192.0.2.7:5062", 5062), false},
                  {extension_, binding("sip:101@192.0.2.7:5064", 5064), false}},
                 [&](const Status& s) {
                   EXPECT_TRUE(s.ok());
                   ++answered;
                 });
  EXPECT_EQ(answered, 0);  // not before the commit
  deliver();
  EXPECT_EQ(answered, 1);

  // A refresh and a removal, then a "restart": a fresh Location restored from the store.
  Binding refreshed = binding("sip:101@192.0.2.7:5062", 5062);
  refreshed.expires_at_us += 60'000'000;
  location.apply({{extension_, refreshed, false}, {extension_, binding("sip:101@192.0.2.7:5064", 5064), true}},
                 [&](const Status&) { ++answered; });
  deliver();
  EXPECT_EQ(answered, 2);

  StoreBindings after_restart(*store_, *writer_, keys_, clock_, "node-a");
  Location restored(&after_restart);
  auto count = after_restart.restore_all(restored);
  ASSERT_TRUE(count.ok()) << count.error().describe();
  EXPECT_EQ(count->bindings, 1u);
  const auto live = restored.lookup(extension_, clock_.now_us());
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].contact, "sip:101@192.0.2.7:5062");
  EXPECT_EQ(live[0].peer.port, 5062);
  EXPECT_EQ(live[0].user_agent, "Grandstream GXP2170");
  EXPECT_EQ(live[0].expires_at_us, refreshed.expires_at_us);
}

// Issue 16: a TCP phone's binding did not outlive its node, so after a restart the phone was
// unreachable until it registered again. One that listens at its Contact on its own host is
// restored as such (its old connection is gone: connection 0); one behind NAT, reachable only over
// the connection it opened, is not. Nor does another node take TCP bindings from the log.
TEST_P(StoreBindingsTest, ATcpPhoneListeningAtItsContactIsRestoredAfterARestart) {
  Location location(bindings_.get());
  const Binding listening = listening_on(TransportKind::tcp, "sip:101@192.0.2.7:5070;transport=tcp", 5070, 12);
  Binding behind_nat = binding("sip:101@192.168.1.20:5060;transport=tcp", 40211);
  behind_nat.peer.transport = TransportKind::tcp;
  behind_nat.peer.connection = 13;
  location.apply({{extension_, listening, false}, {extension_, behind_nat, false}}, [](const Status&) {});
  deliver();

  StoreBindings after_restart(*store_, *writer_, keys_, clock_, "node-a");
  Location restored(&after_restart);
  ASSERT_EQ(after_restart.restore_all(restored)->bindings, 1u);
  const auto live = restored.lookup(extension_, clock_.now_us());
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].contact, listening.contact);
  EXPECT_EQ(live[0].peer.transport, TransportKind::tcp);
  EXPECT_TRUE(live[0].peer.listens);
  EXPECT_EQ(live[0].peer.connection, 0u);
  EXPECT_EQ(live[0].peer.host_port(), "192.0.2.7:5070");

  auto tx = store_->begin(store::TxMode::read);
  ASSERT_TRUE(tx.ok());
  const auto shared = shared_bindings_after(**tx, keys_, 0, 100, clock_.now_us(), "");
  ASSERT_TRUE(shared.ok()) << shared.error().describe();
  ASSERT_EQ(shared->lines.size(), 1u);
  EXPECT_TRUE(shared->lines[0].bindings.empty()) << "other nodes reach a TCP phone through the one it is on";
}

// Issue 16: a TLS phone that listens at its Contact is called back only on the certificate it
// registered with, whose pin lived in the node's memory: after a restart it was unreachable until it
// registered again. The pin is now sealed with the binding and handed to the SIP server at start,
// whose id the restored peer carries; a TLS binding without a certificate is not restored.
TEST_P(StoreBindingsTest, ATlsPhoneIsRestoredWithTheCertificateItRegisteredWith) {
  Location location(bindings_.get());
  Binding pinned = listening_on(TransportKind::tls, "sip:101@192.0.2.7:5071;transport=tls", 5071, 14);
  pinned.certificate.emplace();
  for (size_t i = 0; i < pinned.certificate->size(); ++i) (*pinned.certificate)[i] = static_cast<uint8_t>(i * 7);
  const Binding unpinned = listening_on(TransportKind::tls, "sip:101@192.0.2.7:5073;transport=tls", 5073, 15);
  location.apply({{extension_, pinned, false}, {extension_, unpinned, false}}, [](const Status&) {});
  deliver();

  StoreBindings no_keeper(*store_, *writer_, keys_, clock_, "node-a");
  Location without(&no_keeper);
  EXPECT_EQ(no_keeper.restore_all(without)->bindings, 0u) << "a pin nobody keeps reaches no phone";

  StoreBindings after_restart(*store_, *writer_, keys_, clock_, "node-a");
  std::vector<std::pair<CertificatePin, int64_t>> kept;
  after_restart.set_pin_keeper([&](const CertificatePin& pin, int64_t until_us) {
    kept.emplace_back(pin, until_us);
    return uint64_t{900 + kept.size()};
  });
  Location restored(&after_restart);
  ASSERT_EQ(after_restart.restore_all(restored)->bindings, 1u);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].first, *pinned.certificate);
  EXPECT_EQ(kept[0].second, pinned.expires_at_us) << "kept as long as the binding lives";
  const auto live = restored.lookup(extension_, clock_.now_us());
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].contact, pinned.contact);
  EXPECT_EQ(live[0].peer.transport, TransportKind::tls);
  EXPECT_TRUE(live[0].peer.listens);
  EXPECT_EQ(live[0].peer.connection, 901u) << "the id the server keeps the pin under";
  EXPECT_EQ(live[0].certificate, pinned.certificate);
}

TEST_P(StoreBindingsTest, ExpiredBindingsAreNeitherRestoredNorKept) {
  Location location(bindings_.get());
  Binding soon = binding("sip:101@192.0.2.7:5070", 5070);
  soon.expires_at_us = clock_.now_us() + 1'000'000;
  location.apply({{extension_, soon, false}}, [](const Status&) {});
  deliver();
  clock_.advance_us(2'000'000);
  EXPECT_TRUE(location.lookup(extension_, clock_.now_us()).empty());
  StoreBindings fresh(*store_, *writer_, keys_, clock_, "node-a");
  Location restored(&fresh);
  EXPECT_EQ(fresh.restore_all(restored)->bindings, 0u);
  bindings_->purge_expired();
  deliver();
  auto tx = store_->begin(store::TxMode::read);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM bindings")->at(0).i64(0), 0);
}

TEST_P(StoreBindingsTest, ContactsAndDevicesAreSealed) {
  Location location(bindings_.get());
  location.apply({{extension_, binding("sip:101@192.0.2.7:5062", 5062), false}}, [](const Status&) {});
  deliver();
  const std::string stored = test_store_->everything_stored(*store_, "INSERT INTO bindings");
  for (const char* secret : {"192.0.2.7", "Grandstream", "sip:101@"})
    EXPECT_EQ(stored.find(secret), std::string::npos) << secret;
}

TEST_P(StoreBindingsTest, AChangeForALineWithoutAKeyIsAnsweredWithTheError) {
  ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                PRIVOX_TRY(privacy::subject_keys::destroy(s, extension_));
                return {};
              }).ok());
  Location location(bindings_.get());
  std::optional<Status> answer;
  location.apply({{extension_, binding("sip:101@192.0.2.7:5062", 5062), false}}, [&](const Status& s) { answer = s; });
  deliver(false);
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(answer->ok()) << "a REGISTER is answered 200 only for a binding that is stored";
  auto tx = store_->begin(store::TxMode::read);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM bindings")->at(0).i64(0), 0);
}

TEST_P(StoreBindingsTest, EveryNodeReadsTheBindingsOfTheLinesAChangeNamed) {
  auto read = [&](int64_t after) {
    auto tx = store_->begin(store::TxMode::read);
    auto update = shared_bindings_after(**tx, keys_, after, 100, clock_.now_us(), "");
    EXPECT_TRUE(update.ok()) << update.error().describe();
    return std::move(update).value();
  };
  const int64_t start = read(0).seq;
  Location location(bindings_.get());
  location.apply({{extension_, binding("sip:101@192.0.2.7:5062", 5062), false},
                  {extension_, binding("sip:101@192.0.2.7:5064", 5064), false}},
                 [](const Status&) {});
  deliver();

  const BindingUpdate seen = read(start);
  EXPECT_FALSE(seen.replace_all);
  EXPECT_GT(seen.seq, start);
  ASSERT_EQ(seen.lines.size(), 1u) << "one entry per line changed, not per binding";
  EXPECT_EQ(seen.lines[0].extension_id, extension_);
  ASSERT_EQ(seen.lines[0].bindings.size(), 2u);
  EXPECT_EQ(seen.lines[0].bindings[0].peer.host(), "192.0.2.7");
  EXPECT_EQ(seen.lines[0].bindings[0].user_agent, "Grandstream GXP2170");
  EXPECT_EQ(read(seen.seq).seq, seen.seq) << "nothing new";

  location.apply({{extension_, binding("sip:101@192.0.2.7:5064", 5064), true}}, [](const Status&) {});
  deliver();
  const BindingUpdate removal = read(seen.seq);
  ASSERT_EQ(removal.lines.size(), 1u);
  ASSERT_EQ(removal.lines[0].bindings.size(), 1u);
  EXPECT_EQ(removal.lines[0].bindings[0].contact, "sip:101@192.0.2.7:5062");
}

TEST_P(StoreBindingsTest, ANodeBehindThePrunedLogReadsEveryLine) {
  Location location(bindings_.get());
  location.apply({{extension_, binding("sip:101@192.0.2.7:5062", 5062), false}}, [](const Status&) {});
  deliver();
  clock_.advance_us(kBindingLogKeptUs + 1'000'000);  // the binding lives an hour, its entry ten minutes
  bindings_->purge_expired();
  deliver();
  auto tx = store_->begin(store::TxMode::read);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM sip_binding_log")->at(0).i64(0), 0);
  auto update = shared_bindings_after(**tx, keys_, 0, 100, clock_.now_us(), "");
  ASSERT_TRUE(update.ok()) << update.error().describe();
  EXPECT_TRUE(update->replace_all);
  EXPECT_EQ(update->seq, *binding_log_head(**tx));
  ASSERT_EQ(update->lines.size(), 1u);
  EXPECT_EQ(update->lines[0].bindings.size(), 1u);
}

// Issue 19: a phone on a connection, or behind a NAT, is reached only from the node that took its
// REGISTER. That node marks the binding held by its address; another node reads it as reached
// through that one, the node itself as its own, and after a restart it drops its dead flows.
TEST_P(StoreBindingsTest, FlowsANodeHoldsAreReachedThroughItByTheOthers) {
  Peer node_a, node_b;
  ASSERT_TRUE(Peer::parse("127.0.0.1", 5060, TransportKind::udp, node_a));
  ASSERT_TRUE(Peer::parse("127.0.0.2", 5060, TransportKind::udp, node_b));
  bindings_->set_self(node_a);
  Location location(bindings_.get());
  Binding direct = binding("sip:101@192.0.2.7:5062", 5062);
  Binding tcp = binding("sip:101@10.0.0.5:5070;transport=tcp", 40211);
  tcp.peer.transport = TransportKind::tcp;
  tcp.peer.connection = 12;
  Binding behind_nat = binding("sip:101@192.168.1.20:5060", 40999);  // the REGISTER came from the NAT's port
  location.apply({{extension_, direct, false}, {extension_, tcp, false}, {extension_, behind_nat, false}},
                 [](const Status&) {});
  deliver();
  {
    auto tx = store_->begin(store::TxMode::read);
    EXPECT_EQ((*tx)->query("SELECT count(*) FROM bindings WHERE held_by = 'node-a udp 127.0.0.1 5060'")->at(0).i64(0),
              2);
    EXPECT_EQ((*tx)->query("SELECT count(*) FROM bindings WHERE held_by IS NULL")->at(0).i64(0), 1);
  }
  const auto read_as = [&](const std::string& name, const Peer& node) {
    StoreBindings reader(*store_, *writer_, keys_, clock_, name);
    reader.set_self(node);
    auto tx = store_->begin(store::TxMode::read);
    auto update = shared_bindings_after(**tx, keys_, 0, 100, clock_.now_us(), reader.self());
    EXPECT_TRUE(update.ok()) << update.error().describe();
    std::map<std::string, Binding> by_contact;
    for (const Binding& b : update->lines.at(0).bindings) by_contact[b.contact] = b;
    return by_contact;
  };
  auto on_b = read_as("node-b", node_b);
  ASSERT_EQ(on_b.size(), 3u);
  EXPECT_FALSE(on_b[direct.contact].through) << "any node sends to a phone at its Contact";
  ASSERT_TRUE(on_b[tcp.contact].through);
  EXPECT_EQ(on_b[tcp.contact].through->host_port(), "127.0.0.1:5060");
  EXPECT_EQ(on_b[tcp.contact].peer.transport, TransportKind::tcp) << "what media the phone takes";
  EXPECT_EQ(on_b[tcp.contact].peer.connection, 0u) << "never node A's connection number";
  ASSERT_TRUE(on_b[behind_nat.contact].through);
  EXPECT_EQ(on_b[behind_nat.contact].through->host_port(), "127.0.0.1:5060");

  auto on_a = read_as("node-a", node_a);
  ASSERT_EQ(on_a.size(), 3u);
  for (const auto& [contact, b] : on_a) EXPECT_FALSE(b.through) << contact << ": node A holds it itself";
  EXPECT_TRUE(on_a[tcp.contact].on_own_connection());

  // Node A restarts: its TCP connection is gone, the NAT's mapping to its address is not.
  StoreBindings after_restart(*store_, *writer_, keys_, clock_, "node-a");
  after_restart.set_self(node_a);
  Location restored(&after_restart);
  const auto result = after_restart.restore_all(restored);
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(result->bindings, 2u);
  EXPECT_EQ(result->dead_flows, 1u);
  ASSERT_TRUE(writer_->flush().ok());
  {
    auto tx = store_->begin(store::TxMode::read);
    EXPECT_EQ((*tx)->query("SELECT count(*) FROM bindings")->at(0).i64(0), 2) << "the dead flow's row is removed";
  }

  // Node B, starting, reaches both of A's through A.
  StoreBindings on_start_b(*store_, *writer_, keys_, clock_, "node-b");
  on_start_b.set_self(node_b);
  Location at_b(&on_start_b);
  ASSERT_EQ(on_start_b.restore_all(at_b)->bindings, 2u);
  for (const Binding& b : at_b.lookup(extension_, clock_.now_us()))
    EXPECT_EQ(b.through.has_value(), b.contact == behind_nat.contact) << b.contact;

  // Node A dies and does not come back: once its heartbeat is older than the limit, node B drops
  // what it held (the NAT'd phone) and logs the line, so that every node stops relaying to A.
  const auto beat = [&](const std::string& node, int64_t at_us) {
    ASSERT_TRUE(store::with_transaction(*store_, store::TxMode::write, [&](store::Session& s) -> Status {
                  PRIVOX_TRY(s.exec("DELETE FROM node_heartbeats WHERE node_id = ?", {node}));
                  PRIVOX_TRY(s.exec("INSERT INTO node_heartbeats (node_id, last_seen_us) VALUES (?, ?)", {node, at_us}));
                  return {};
                }).ok());
  };
  beat("node-a", clock_.now_us() - 5'000'000);
  beat("node-b", clock_.now_us());
  int64_t head_before = 0;
  {
    auto tx = store_->begin(store::TxMode::read);
    head_before = *binding_log_head(**tx);
  }
  auto kept = drop_flows_of_silent_nodes(*store_, "node-b", clock_, 15'000'000);
  ASSERT_TRUE(kept.ok()) << kept.error().describe();
  EXPECT_EQ(*kept, 0) << "5 s of silence is within the limit";
  EXPECT_EQ(*drop_flows_of_silent_nodes(*store_, "node-a", clock_, 1'000'000), 0) << "a node never drops its own";
  auto dropped = drop_flows_of_silent_nodes(*store_, "node-b", clock_, 1'000'000);
  ASSERT_TRUE(dropped.ok()) << dropped.error().describe();
  EXPECT_EQ(*dropped, 1);
  auto tx = store_->begin(store::TxMode::read);
  EXPECT_EQ((*tx)->query("SELECT count(*) FROM bindings")->at(0).i64(0), 1) << "the phone on its Contact stays";
  EXPECT_EQ(*binding_log_head(**tx), head_before + 1) << "one entry for the line, so every node reloads it";
  EXPECT_EQ((*tx)->query("SELECT node FROM sip_binding_log WHERE seq = ?", {head_before + 1})->at(0).text(0), "node-a")
      << "the entry names the silent node, so node B, which dropped the flow, reads the line back as well";
}

// A node reads back only the lines its filter wants, told whether another node changed each.
TEST_P(StoreBindingsTest, EachLineIsOfferedToTheFilterWithWhetherOnlyThisNodeChangedIt) {
  const auto read = [&](int64_t after, std::vector<std::pair<std::string, bool>>& asked, bool want) {
    auto tx = store_->begin(store::TxMode::read);
    auto update = shared_bindings_after(**tx, keys_, after, 100, clock_.now_us(), "", "node-a",
                                        [&](const std::string& line, bool own_only) {
                                          asked.emplace_back(line, own_only);
                                          return want;
                                        });
    EXPECT_TRUE(update.ok()) << update.error().describe();
    return std::move(update).value();
  };
  std::vector<std::pair<std::string, bool>> asked;
  const int64_t start = read(0, asked, true).seq;
  Location at_a(bindings_.get());
  at_a.apply({{extension_, binding("sip:101@192.0.2.7:5062", 5062), false}}, [](const Status&) {});
  deliver();

  asked.clear();
  const BindingUpdate own = read(start, asked, false);
  EXPECT_EQ(asked, (std::vector<std::pair<std::string, bool>>{{extension_, true}}));
  EXPECT_GT(own.seq, start) << "the entries are passed even when no line is read";
  EXPECT_TRUE(own.lines.empty()) << "a line the filter does not want is not read";

  StoreBindings node_b(*store_, *writer_, keys_, clock_, "node-b");
  Location at_b(&node_b);
  bool answered = false;
  at_b.apply({{extension_, binding("sip:101@192.0.2.7:5064", 5064), false}}, [&](const Status&) { answered = true; });
  ASSERT_TRUE(writer_->flush().ok());
  std::vector<store::BatchOutcome> batches;
  {
    std::lock_guard lock(mutex_);
    batches.swap(batches_);
  }
  for (const store::BatchOutcome& b : batches) node_b.completed(b);
  ASSERT_TRUE(answered);

  asked.clear();
  const BindingUpdate both = read(start, asked, true);
  EXPECT_EQ(asked, (std::vector<std::pair<std::string, bool>>{{extension_, false}}))
      << "node B changed the line too: not only node A's";
  ASSERT_EQ(both.lines.size(), 1u);
  EXPECT_EQ(both.lines[0].bindings.size(), 2u);
}

TEST(ReadBackPolicyTest, ANodeReadsBackItsOwnChangeOnlyNearAReadMadeForAnotherNode) {
  constexpr int64_t kWindow = ReadBackPolicy::kReadBackWindowUs;
  ReadBackPolicy policy;
  EXPECT_FALSE(policy.wanted("line-1", true, 1'000'000)) << "only this node changed it: memory has it";
  EXPECT_TRUE(policy.wanted("line-1", false, 2'000'000)) << "another node changed it";
  EXPECT_TRUE(policy.wanted("line-1", true, 3'000'000))
      << "the read for the other node may have crossed this node's write: read it back";
  EXPECT_FALSE(policy.wanted("line-2", true, 3'000'000)) << "a read of another line changes nothing";
  EXPECT_TRUE(policy.wanted("line-1", true, 2'000'000 + kWindow - 1));
  EXPECT_FALSE(policy.wanted("line-1", true, 2'000'000 + kWindow)) << "long after, no write can still be in flight";

  policy.read_every_line(10 * kWindow);
  EXPECT_TRUE(policy.wanted("line-2", true, 10 * kWindow + 1)) << "a read of every line counts for each";
  EXPECT_FALSE(policy.wanted("line-2", true, 11 * kWindow));
}

TEST(ReadBackPolicyTest, LinesReadLongAgoAreForgotten) {
  constexpr int64_t kWindow = ReadBackPolicy::kReadBackWindowUs;
  ReadBackPolicy policy;
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(policy.wanted("line-" + std::to_string(i), false, 1'000'000 + i));
  EXPECT_EQ(policy.lines_remembered(), 100u);
  EXPECT_TRUE(policy.wanted("line-new", false, 3 * kWindow));
  EXPECT_EQ(policy.lines_remembered(), 1u) << "the map holds only lines read within the window";
}

// A phone that registered its contact again through another node is reached through that node
// now, even when this node still holds the connection it came on before.
TEST(LocationTest, APhoneThatMovedToAnotherNodeIsReachedThroughIt) {
  Location location(nullptr);
  Binding own, moved;
  own.contact = moved.contact = "sip:101@10.0.0.5:5070;transport=tcp";
  ASSERT_TRUE(Peer::parse("198.51.100.9", 40211, TransportKind::tcp, own.peer));
  own.peer.connection = 12;
  moved.peer = own.peer;
  moved.peer.connection = 0;
  ASSERT_TRUE(Peer::parse("127.0.0.2", 5060, TransportKind::udp, moved.through.emplace()));
  own.expires_at_us = moved.expires_at_us = 10'000'000;
  location.restore("line-1", own);

  Binding refreshed = own;  // read back from the store: the same flow, a later expiry
  refreshed.peer.connection = 0;
  refreshed.expires_at_us = 20'000'000;
  EXPECT_TRUE(location.replace_shared("line-1", {refreshed}).empty());
  ASSERT_EQ(location.lookup("line-1", 0).size(), 1u);
  EXPECT_EQ(location.lookup("line-1", 0)[0].peer.connection, 12u) << "memory knows the connection";
  EXPECT_EQ(location.lookup("line-1", 0)[0].expires_at_us, 20'000'000);

  EXPECT_TRUE(location.replace_shared("line-1", {moved}).empty());
  const auto live = location.lookup("line-1", 0);
  ASSERT_EQ(live.size(), 1u);
  ASSERT_TRUE(live[0].through);
  EXPECT_EQ(live[0].next_hop().host_port(), "127.0.0.2:5060");
}

// The store's bindings replace memory's, but a phone on this node's own TCP connection stays, and
// a line whose other bindings are all gone is dropped from the shared ones.
TEST(LocationTest, SharedBindingsReplaceAllButThisNodesOwnConnections) {
  Location location(nullptr);
  Binding udp, tcp, fresh;
  udp.contact = "sip:101@192.0.2.7:5062";
  ASSERT_TRUE(Peer::parse("192.0.2.7", 5062, TransportKind::udp, udp.peer));
  tcp.contact = "sip:101@192.0.2.8:5070;transport=tcp";
  ASSERT_TRUE(Peer::parse("192.0.2.8", 5070, TransportKind::tcp, tcp.peer));
  fresh.contact = "sip:101@192.0.2.9:5062";
  ASSERT_TRUE(Peer::parse("192.0.2.9", 5062, TransportKind::udp, fresh.peer));
  for (Binding* b : {&udp, &tcp, &fresh}) b->expires_at_us = 10'000'000;
  location.restore("line-1", udp);
  location.restore("line-1", tcp);
  EXPECT_EQ(location.extensions_with_shared(), std::vector<std::string>{"line-1"});

  const std::vector<std::string> unbound = location.replace_shared("line-1", {fresh});
  EXPECT_EQ(unbound, std::vector<std::string>{udp.contact});
  const auto live = location.lookup("line-1", 0);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].contact, fresh.contact);
  EXPECT_EQ(live[1].contact, tcp.contact);

  EXPECT_EQ(location.replace_shared("line-1", {}), std::vector<std::string>{fresh.contact});
  EXPECT_TRUE(location.extensions_with_shared().empty());
  EXPECT_EQ(location.lookup("line-1", 0).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreBindingsTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgresql), store::backend_name);

}  // namespace
}  // namespace privox::sip
