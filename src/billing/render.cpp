#include "billing/render.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fmt/format.h>

#include <array>
#include <memory>
#include <vector>

#include "common/markup.h"
#include "store/settings.h"

namespace privox::billing {
namespace {

constexpr double kPageWidth = 595.0;  // A4 in points
constexpr double kPageHeight = 842.0;
constexpr double kMargin = 50.0;
constexpr double kLineHeight = 16.0;
constexpr size_t kLinesPerPage = 30;

std::string title_of(const Invoice& inv) { return inv.kind == "credit_note" ? "Credit note" : "Invoice"; }

std::string tax_rate_text(int64_t bp) {
  return bp % 100 == 0 ? fmt::format("{}%", bp / 100) : fmt::format("{}.{:02}%", bp / 100, bp % 100);
}

// What both documents show, in order: heading lines, then the table, then the totals.
struct DocumentText {
  std::vector<std::string> heading;
  std::vector<std::array<std::string, 4>> rows;  // description, quantity, unit, amount
  std::vector<std::array<std::string, 2>> totals;
};

DocumentText text_of(const Invoice& inv, const Parties& p) {
  DocumentText d;
  d.heading = {fmt::format("{} {}", title_of(inv), number_text(inv)),
               fmt::format("From: {}", p.operator_name.empty() ? "(operator name not set)" : p.operator_name),
               p.operator_address,
               p.operator_email,
               fmt::format("To: {} ({})", p.company.name, p.company.country),
               fmt::format("Customer id: {}", inv.company_id),
               fmt::format("Issued: {}", format_date(utc_date(inv.issued_at_us))),
               fmt::format("Period: {}", inv.period)};
  if (inv.kind == "credit_note") d.heading.push_back(fmt::format("Reason: {}", inv.reason));
  for (const InvoiceLine& l : inv.lines)
    d.rows.push_back({l.description, std::to_string(l.quantity), amount_text(l.unit_micros), amount_text(l.amount_micros)});
  d.totals = {{"Subtotal", fmt::format("{} {}", amount_text(inv.subtotal_micros), inv.currency)},
              {fmt::format("Tax ({})", tax_rate_text(inv.tax_rate_bp)),
               fmt::format("{} {}", amount_text(inv.tax_micros), inv.currency)},
              {"Total", fmt::format("{} {}", amount_text(inv.total_micros), inv.currency)}};
  return d;
}

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

class PdfWriter {
 public:
  explicit PdfWriter(std::string& out)
      : surface_(cairo_pdf_surface_create_for_stream(append_to_string, &out, kPageWidth, kPageHeight),
                 cairo_surface_destroy),
        cr_(cairo_create(surface_.get()), cairo_destroy) {
    cairo_select_font_face(cr_.get(), "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  }
  void text(double x, const std::string& s, double size = 10.0) {
    if (y_ > kPageHeight - kMargin) new_page();
    cairo_set_font_size(cr_.get(), size);
    cairo_move_to(cr_.get(), x, y_);
    cairo_show_text(cr_.get(), s.c_str());
  }
  void next_line(double by = kLineHeight) { y_ += by; }
  void new_page() {
    cairo_show_page(cr_.get());
    y_ = kMargin;
  }
  Status finish() {
    cairo_surface_finish(surface_.get());
    if (cairo_status(cr_.get()) != CAIRO_STATUS_SUCCESS || cairo_surface_status(surface_.get()) != CAIRO_STATUS_SUCCESS)
      return make_error(ErrorCode::internal, fmt::format("cairo could not draw the PDF: {}",
                                                         cairo_status_to_string(cairo_status(cr_.get()))));
    return {};
  }

 private:
  std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> surface_;
  std::unique_ptr<cairo_t, void (*)(cairo_t*)> cr_;
  double y_ = kMargin + 10.0;
};

}  // namespace

// Fontconfig, which cairo's text asks for the font, keeps a few hundred bytes of its configuration
// for the life of the process without a pointer LeakSanitizer can see; that is not a leak of ours,
// and without this every sanitizer build that renders a PDF (the tests, `privox invoice show`)
// would fail at exit. The sanitizer runtime calls this weak hook; other builds never do.
// NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp,readability-identifier-naming)
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig.so\n"; }

Result<Parties> the_parties(store::Store& store, store::Session& s, const Invoice& invoice) {
  const store::Settings settings(store);
  Parties p;
  PRIVOX_ASSIGN(p.operator_name, settings.text(s, "controller.name"));
  PRIVOX_ASSIGN(p.operator_address, settings.text(s, "controller.address"));
  PRIVOX_ASSIGN(p.operator_email, settings.text(s, "controller.email"));
  PRIVOX_ASSIGN(p.company, accounts::find_company(s, invoice.company_id));
  return p;
}

std::string invoice_html(const Invoice& invoice, const Parties& parties) {
  const DocumentText d = text_of(invoice, parties);
  std::string out = fmt::format("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>"
                                "</head><body>\n<h1>{}</h1>\n",
                                markup_escaped(d.heading[0]), markup_escaped(d.heading[0]));
  for (size_t i = 1; i < d.heading.size(); ++i)
    if (!d.heading[i].empty()) out += fmt::format("<p>{}</p>\n", markup_escaped(d.heading[i]));
  out += "<table>\n<tr><th>Description</th><th>Quantity</th><th>Unit</th><th>Amount</th></tr>\n";
  for (const auto& r : d.rows)
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", markup_escaped(r[0]), markup_escaped(r[1]),
                       markup_escaped(r[2]), markup_escaped(r[3]));
  for (const auto& t : d.totals)
    out += fmt::format("<tr><th colspan=\"3\">{}</th><td>{}</td></tr>\n", markup_escaped(t[0]), markup_escaped(t[1]));
  out += "</table>\n</body></html>\n";
  return out;
}

Result<std::string> invoice_pdf(const Invoice& invoice, const Parties& parties) {
  const DocumentText d = text_of(invoice, parties);
  std::string out;
  {
    PdfWriter pdf(out);
    pdf.text(kMargin, d.heading[0], 18.0);
    pdf.next_line(2 * kLineHeight);
    for (size_t i = 1; i < d.heading.size(); ++i) {
      if (d.heading[i].empty()) continue;
      pdf.text(kMargin, d.heading[i]);
      pdf.next_line();
    }
    pdf.next_line();
    const double cols[] = {kMargin, 330.0, 390.0, 470.0};
    const char* const titles[] = {"Description", "Quantity", "Unit", "Amount"};
    for (size_t c = 0; c < 4; ++c) pdf.text(cols[c], titles[c]);
    pdf.next_line();
    size_t on_page = 0;
    for (const auto& r : d.rows) {
      if (++on_page > kLinesPerPage) {
        pdf.new_page();
        on_page = 1;
      }
      for (size_t c = 0; c < 4; ++c) pdf.text(cols[c], r[c]);
      pdf.next_line();
    }
    pdf.next_line();
    for (const auto& t : d.totals) {
      pdf.text(cols[2], t[0]);
      pdf.text(cols[3], t[1]);
      pdf.next_line();
    }
    PRIVOX_TRY(pdf.finish());
  }
  return out;
}

}  // namespace privox::billing
