#include "sip/bencode.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace privox::sip::bencode {
namespace {

TEST(BencodeTest, WritesWhatRtpengineReads) {
  std::string out;
  Writer(out).begin_dict().entry("command", "offer").entry("ttl", 30).string("flags").begin_list().string("a").end().end();
  EXPECT_EQ(out, "d7:command5:offer3:ttli30e5:flagsl1:aee");
}

TEST(BencodeTest, ReadsAReplyWithoutCopying) {
  const std::string reply = "d6:result2:ok3:sdp12:v=0\r\no=- 1 14:nums" "li-3ei0ei42eee";
  Document doc;
  std::string error;
  ASSERT_TRUE(doc.parse(reply, error)) << error;
  ASSERT_EQ(doc.root().kind, Kind::dict);
  EXPECT_EQ(doc.text(doc.root(), "result"), "ok");
  const std::string_view sdp = doc.text(doc.root(), "sdp");
  EXPECT_EQ(sdp, "v=0\r\no=- 1 1");
  EXPECT_TRUE(sdp.data() >= reply.data() && sdp.data() + sdp.size() <= reply.data() + reply.size());
  const Node* nums = doc.find(doc.root(), "nums");
  ASSERT_NE(nums, nullptr);
  std::vector<int64_t> values;
  doc.for_each_child(*nums, [&](const Node& n) { values.push_back(n.number); });
  EXPECT_EQ(values, (std::vector<int64_t>{-3, 0, 42}));
  EXPECT_EQ(doc.find(doc.root(), "absent"), nullptr);
  EXPECT_EQ(doc.text(doc.root(), "nums"), "");  // not a string
}

TEST(BencodeTest, FindsKeysAfterNestedValues) {
  Document doc;
  std::string error;
  ASSERT_TRUE(doc.parse("d1:ad1:bd1:cleee1:z3:ende", error)) << error;  // "z" after nested dictionaries
  EXPECT_EQ(doc.text(doc.root(), "z"), "end");
  EXPECT_EQ(doc.find(doc.root(), "b"), nullptr);  // only the top level is searched
}

TEST(BencodeTest, RefusesMalformedInputAndSaysWhere) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "no value"},
      {"d3:key", "unterminated"},
      {"d3:keye", "without a value"},
      {"di1e1:ae", "not a string"},
      {"i01e", "malformed integer"},
      {"i-0e", "malformed integer"},
      {"ie", "malformed integer"},
      {"i99999999999999999999e", "malformed integer"},
      {"5:abc", "longer than the message"},
      {"01:a", "malformed string length"},
      {"1:ab", "bytes after the value"},
      {"e", "without a list"},
      {"x", "unexpected byte"},
      {std::string(40, 'l') + std::string(40, 'e'), "deeper than 32"},
  };
  for (const auto& [input, why] : cases) {
    Document doc;
    std::string error;
    EXPECT_FALSE(doc.parse(input, error)) << input;
    EXPECT_NE(error.find(why), std::string::npos) << input << ": " << error;
    EXPECT_NE(error.find("at byte"), std::string::npos) << error;
    EXPECT_TRUE(doc.empty());
  }
}

TEST(BencodeTest, BoundsTheNumberOfValues) {
  std::string many = "l";
  for (size_t i = 0; i < Document::kMaxNodes; ++i) many += "i1e";
  many += "e";
  Document doc;
  std::string error;
  EXPECT_FALSE(doc.parse(many, error));
  EXPECT_NE(error.find("more than 65536"), std::string::npos) << error;
}

}  // namespace
}  // namespace privox::sip::bencode
