#include "sip/memory_directory.h"

#include <gtest/gtest.h>

namespace privox::sip {
namespace {

ExtensionInfo line(const std::string& id, const std::string& number, std::string did = "") {
  return {id, "company-1", "GB", number, number, std::move(did), "md5-" + id, "sha-" + id, {}, {}};
}

TrunkInfo trunk(std::string id, std::string name, const char* host, uint16_t port = 5060) {
  TrunkInfo t{std::move(id), std::move(name), {}, false};
  EXPECT_TRUE(Peer::parse(host, port, TransportKind::udp, t.address));
  return t;
}

Peer peer(const char* host, uint16_t port) {
  Peer p;
  EXPECT_TRUE(Peer::parse(host, port, TransportKind::udp, p)) << host;
  return p;
}

// The id of the trunk a request from host:port is taken for, "none" when none.
std::string trunk_id_at(MemoryDirectory& directory, const char* host, uint16_t port) {
  const TrunkInfo* t = directory.trunk_at(peer(host, port));
  return t ? t->id : "none";
}

TEST(MemoryDirectoryTest, UpdatesAddChangeInPlaceAndRemove) {
  MemoryDirectory directory;
  DirectoryUpdate all;
  all.replace_all = true;
  all.extensions = {line("a", "101", "+442079460001"), line("b", "102")};
  all.log_seq = 4;
  directory.apply(all);
  const ExtensionInfo* a = directory.by_sip_user("101");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(directory.by_did("+442079460001"), a);
  EXPECT_EQ(directory.by_number("company-1", "102"), directory.by_id("b"));
  EXPECT_EQ(directory.log_seq(), 4);

  // The DID moves from a to b in one update; a's password changes; nothing else is touched.
  DirectoryUpdate moved;
  ExtensionInfo a2 = line("a", "101");
  a2.ha1_md5 = "md5-new";
  moved.extensions = {line("b", "102", "+442079460001"), a2};
  moved.log_seq = 6;
  directory.apply(moved);
  EXPECT_EQ(directory.by_sip_user("101"), a) << "changed in place";
  EXPECT_EQ(a->ha1_md5, "md5-new");
  EXPECT_EQ(directory.by_did("+442079460001"), directory.by_id("b")) << "the DID's new line has it";
  EXPECT_EQ(directory.extensions(), 2u);

  DirectoryUpdate gone;
  gone.removed_extensions = {"b", "never-there"};
  directory.apply(gone);
  EXPECT_EQ(directory.by_id("b"), nullptr);
  EXPECT_EQ(directory.by_did("+442079460001"), nullptr);
  EXPECT_EQ(directory.by_number("company-1", "102"), nullptr);
  EXPECT_EQ(directory.extensions(), 1u);
  EXPECT_EQ(directory.updates_applied(), 3u);

  directory.apply(all);  // a full reload replaces everything
  EXPECT_EQ(directory.extensions(), 2u);
  EXPECT_EQ(directory.by_sip_user("101")->ha1_md5, "md5-a");
}

TEST(MemoryDirectoryTest, ACompanysMainLineIsItsLowestNumberedLine) {
  MemoryDirectory directory;
  EXPECT_EQ(directory.main_line("company-1"), nullptr) << "no line, no main line";
  DirectoryUpdate all;
  all.replace_all = true;
  ExtensionInfo other = line("z", "10");
  other.company_id = "company-2";
  // "99" is lower than "100" although it sorts after it as text; another company's "10" is not ours.
  all.extensions = {line("a", "100"), line("b", "99"), line("c", "201"), other};
  directory.apply(all);
  ASSERT_NE(directory.main_line("company-1"), nullptr);
  EXPECT_EQ(directory.main_line("company-1")->id, "b");
  EXPECT_EQ(directory.main_line("company-2")->id, "z");
  DirectoryUpdate gone;
  gone.removed_extensions = {"b"};
  directory.apply(gone);
  EXPECT_EQ(directory.main_line("company-1")->id, "a") << "the next lowest takes over";
  EXPECT_EQ(directory.main_line("company-3"), nullptr);
}

TEST(MemoryDirectoryTest, TrunksAreKeptByNameAndTheFirstWithAnAddressTakesOutboundCalls) {
  MemoryDirectory directory;
  EXPECT_EQ(directory.outbound_trunk(), nullptr);
  DirectoryUpdate update;
  update.trunks = {trunk("t2", "zulu", "192.0.2.2"), trunk("t1", "alpha", "192.0.2.1")};
  directory.apply(update);
  ASSERT_NE(directory.outbound_trunk(), nullptr);
  EXPECT_EQ(directory.outbound_trunk()->id, "t1");
  Peer from;
  ASSERT_TRUE(Peer::parse("192.0.2.2", 5060, TransportKind::udp, from));
  EXPECT_EQ(directory.trunk_at(from)->id, "t2");

  DirectoryUpdate removed;
  removed.removed_trunks = {"t1"};
  directory.apply(removed);
  EXPECT_EQ(directory.outbound_trunk()->id, "t2");
  EXPECT_EQ(directory.trunks(), 1u);
}

// Issue 12: carriers send from several ports, so a trunk is recognised by its IP address alone;
// its configured port is where privox sends.
TEST(MemoryDirectoryTest, ATrunkIsRecognisedByItsAddressFromAnyPort) {
  MemoryDirectory directory;
  DirectoryUpdate update;
  TrunkInfo carrier = trunk("t1", "carrier", "192.0.2.1");
  carrier.trusted = true;
  update.trunks = {carrier, trunk("t6", "v6", "2001:db8::1")};
  directory.apply(update);
  EXPECT_EQ(trunk_id_at(directory, "192.0.2.1", 5060), "t1");
  const TrunkInfo* other_port = directory.trunk_at(peer("192.0.2.1", 40123));
  ASSERT_NE(other_port, nullptr) << "a request from the trunk's address on another port is the trunk's";
  EXPECT_EQ(other_port->id, "t1");
  EXPECT_TRUE(other_port->trusted);
  Peer over_tcp = peer("192.0.2.1", 50000);
  over_tcp.transport = TransportKind::tcp;
  over_tcp.connection = 7;
  ASSERT_NE(directory.trunk_at(over_tcp), nullptr);
  EXPECT_EQ(directory.trunk_at(over_tcp)->id, "t1");
  EXPECT_EQ(trunk_id_at(directory, "2001:db8::1", 5070), "t6");

  EXPECT_EQ(trunk_id_at(directory, "192.0.2.2", 5060), "none") << "another address is not the trunk";
  EXPECT_EQ(trunk_id_at(directory, "2001:db8::2", 5060), "none");
  EXPECT_EQ(trunk_id_at(directory, "::ffff:192.0.2.1", 5060), "none") << "an IPv6 address is not an IPv4 one";
}

TEST(MemoryDirectoryTest, TrunksSharingAnAddressAreToldApartByPortElseTheFirstByName) {
  MemoryDirectory directory;
  DirectoryUpdate update;
  update.trunks = {trunk("tz", "zulu", "192.0.2.1", 5070), trunk("tm", "mike", "192.0.2.1", 5080),
                   trunk("ta", "alpha", "192.0.2.9", 5060)};
  directory.apply(update);
  EXPECT_EQ(trunk_id_at(directory, "192.0.2.1", 5070), "tz") << "the port also matches";
  EXPECT_EQ(trunk_id_at(directory, "192.0.2.1", 5080), "tm");
  EXPECT_EQ(trunk_id_at(directory, "192.0.2.1", 5060), "tm") << "no port matches: the first by name";
  EXPECT_EQ(trunk_id_at(directory, "192.0.2.1", 41000), "tm");
}

TEST(MemoryDirectoryTest, CompanyMusicIsSetReplacedRemovedAndClearedByAFullLoad) {
  MemoryDirectory d;
  EXPECT_EQ(d.music_for("c1"), nullptr) << "no music: the node's file plays";
  DirectoryUpdate first;
  first.music = {{"c1", "/m/c1-aa.wav"}, {"c2", "/m/c2-bb.wav"}};
  d.apply(first);
  ASSERT_NE(d.music_for("c1"), nullptr);
  EXPECT_EQ(*d.music_for("c1"), "/m/c1-aa.wav");
  DirectoryUpdate second;
  second.music = {{"c1", "/m/c1-cc.wav"}};
  second.removed_music = {"c2"};
  d.apply(second);
  EXPECT_EQ(*d.music_for("c1"), "/m/c1-cc.wav");
  EXPECT_EQ(d.music_for("c2"), nullptr);
  DirectoryUpdate all;
  all.replace_all = true;
  d.apply(all);
  EXPECT_EQ(d.music_for("c1"), nullptr) << "a full load without it drops it";
}

TEST(MemoryDirectoryTest, ConferenceRoomsAreFoundByNumberDidAndLineAndMoveOrGoWithTheirUpdates) {
  MemoryDirectory d;
  DirectoryUpdate first;
  first.rooms = {{"r1", "c1", std::nullopt, "700", "Weekly", std::string("+442079460600")},
                 {"r2", "c1", std::string("line-1"), "", "201's room", std::nullopt}};
  d.apply(first);
  ASSERT_NE(d.room_by_number("c1", "700"), nullptr);
  EXPECT_EQ(d.room_by_number("c1", "700")->id, "r1");
  EXPECT_EQ(d.room_by_number("c2", "700"), nullptr) << "a number belongs to its company";
  ASSERT_NE(d.room_by_did("+442079460600"), nullptr);
  EXPECT_EQ(d.room_by_did("+442079460600")->id, "r1");
  ASSERT_NE(d.room_of_line("line-1"), nullptr);
  EXPECT_EQ(d.room_of_line("line-1")->id, "r2");
  EXPECT_EQ(d.room_by_number("c1", ""), nullptr) << "a line's room has no number of its own";
  EXPECT_EQ(d.rooms(), 2u);
  // The room moves to 701 and gives its DID to the line's room; then the line's room goes.
  DirectoryUpdate second;
  second.rooms = {{"r1", "c1", std::nullopt, "701", "Weekly", std::nullopt},
                  {"r2", "c1", std::string("line-1"), "", "201's room", std::string("+442079460600")}};
  d.apply(second);
  EXPECT_EQ(d.room_by_number("c1", "700"), nullptr);
  EXPECT_EQ(d.room_by_number("c1", "701")->id, "r1");
  EXPECT_EQ(d.room_by_did("+442079460600")->id, "r2") << "a DID that moved within one update is the new holder's";
  DirectoryUpdate third;
  third.removed_rooms = {"r2"};
  d.apply(third);
  EXPECT_EQ(d.room_of_line("line-1"), nullptr);
  EXPECT_EQ(d.room_by_did("+442079460600"), nullptr);
  EXPECT_EQ(d.room_by_id("r1")->number, "701");
  DirectoryUpdate all;
  all.replace_all = true;
  d.apply(all);
  EXPECT_EQ(d.room_by_id("r1"), nullptr) << "a full load without it drops it";
}

TEST(MemoryDirectoryTest, AMissIsAnsweredFromMemory) {
  MemoryDirectory directory;
  EXPECT_EQ(directory.by_sip_user("anyone"), nullptr);
  EXPECT_EQ(directory.by_number("company-1", "999"), nullptr);
  EXPECT_EQ(directory.by_did("+15555550100"), nullptr);
  EXPECT_EQ(directory.by_id("nope"), nullptr);
}

}  // namespace
}  // namespace privox::sip
