#include "billing/render.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "common/testing.h"

namespace privox::billing {
namespace {

Invoice sample() {
  Invoice inv;
  inv.id = "inv-1";
  inv.company_id = "co-1";
  inv.period = "2026-11";
  inv.number = 42;
  inv.issued_at_us = *parse_time("2026-12-02T10:00:00Z");
  inv.currency = "GBP";
  inv.lines = {{"Phone lines (seats), 2026-11", 3, 5'000'000, 15'000'000},
               {"Rated outbound calls, 2026-11 (3 calls)", 1, 180'000, 180'000}};
  inv.subtotal_micros = 15'180'000;
  inv.tax_rate_bp = 2000;
  inv.tax_micros = 3'036'000;
  inv.total_micros = 18'216'000;
  inv.status = "issued";
  inv.kind = "invoice";
  return inv;
}

Parties parties() {
  Parties p{"Example Telecom <Ltd>", "1 High St, London", "billing@example.test", {}};
  p.company = {"co-1", "Tom & <b>Jerry</b> Ltd", "eea", "GB", 0};
  return p;
}

TEST(InvoiceRenderTest, HtmlEscapesEveryValueAndShowsTheNumberLinesTaxAndTotal) {
  const std::string html = invoice_html(sample(), parties());
  EXPECT_NE(html.find("Invoice INV-000042"), std::string::npos);
  EXPECT_NE(html.find("Tom &amp; &lt;b&gt;Jerry&lt;/b&gt; Ltd"), std::string::npos);
  EXPECT_EQ(html.find("<b>Jerry"), std::string::npos) << "no markup from a value";
  EXPECT_NE(html.find("Example Telecom &lt;Ltd&gt;"), std::string::npos);
  EXPECT_NE(html.find("Tax (20%)"), std::string::npos);
  EXPECT_NE(html.find("18.216 GBP"), std::string::npos);
  EXPECT_NE(html.find("Issued: 2026-12-02"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

// The PDF is read back with poppler's pdftotext, a reader independent of cairo.
TEST(InvoiceRenderTest, ThePdfIsAPdfWhoseTextHoldsTheNumberAndTotal) {
  auto pdf = invoice_pdf(sample(), parties());
  ASSERT_TRUE(pdf.ok()) << pdf.error().describe();
  ASSERT_GT(pdf->size(), 4u);
  EXPECT_EQ(pdf->substr(0, 5), "%PDF-");
  testing::TempDir dir;
  const std::string path = dir.path() + "/invoice.pdf";
  {
    std::ofstream out(path, std::ios::binary);
    out << *pdf;
  }
  const std::string txt = dir.path() + "/invoice.txt";
  ASSERT_EQ(std::system(("pdftotext -layout " + path + " " + txt).c_str()), 0) << "pdftotext (poppler-utils)";
  std::ifstream in(txt);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("INV-000042"), std::string::npos) << text;
  EXPECT_NE(text.find("18.216 GBP"), std::string::npos) << text;
  EXPECT_NE(text.find("Tom & <b>Jerry</b> Ltd"), std::string::npos) << text;
  EXPECT_NE(text.find("Example Telecom <Ltd>"), std::string::npos) << text;
  EXPECT_NE(text.find("3.036 GBP"), std::string::npos) << text;
}

TEST(InvoiceRenderTest, ACreditNoteSaysSoAndGivesItsReason) {
  Invoice note = sample();
  note.kind = "credit_note";
  note.reason = "one line unused";
  const std::string html = invoice_html(note, parties());
  EXPECT_NE(html.find("Credit note CN-000042"), std::string::npos);
  EXPECT_NE(html.find("Reason: one line unused"), std::string::npos);
  auto pdf = invoice_pdf(note, parties());
  ASSERT_TRUE(pdf.ok());
  EXPECT_EQ(pdf->substr(0, 5), "%PDF-");
}

}  // namespace
}  // namespace privox::billing
