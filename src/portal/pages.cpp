// The portal's pages: the embedded web/ files for every request no API route matched, with the
// page-view count and the performance cookie on HTML pages.
#include <fmt/format.h>

#include "portal/assets.h"
#include "portal/page_views.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

Response not_found_page() {
  Response res{status::not_found, 11};
  res.set(http::bhttp::field::content_type, "text/html; charset=utf-8");
  const EmbeddedFile* page = find_embedded("/404.html");
  res.body() = page ? std::string(page->bytes)
                    : "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head>"
                      "<body><h1>Page not found</h1><p><a href=\"/\">Back to the portal</a></p></body></html>";
  return res;
}

}  // namespace

// Not a row of the route table: the session is looked at only for HTML pages (never for the
// stylesheet and scripts, which would refresh its idle timer on every asset), and only to know
// whose consent the performance cookie follows.
Response page(Portal::Impl& p, const Exchange& e) {
  const bool get = e.method() == verb::get || e.method() == verb::head;
  const std::string path(e.path());
  const EmbeddedFile* file = get && path.rfind("/api/", 0) != 0 ? find_embedded(path) : nullptr;
  if (!file) {
    const bool html = path == "/" || path.ends_with(".html") || e.header("Accept").starts_with("text/html");
    return get && html ? not_found_page() : http::json_error(status::not_found, fmt::format("no such resource: {}", path));
  }
  Response res{status::ok, 11};
  const std::string_view type = content_type_for(file->path);
  res.set(http::bhttp::field::content_type, std::string(type));
  res.body() = std::string(file->bytes);
  if (!type.starts_with("text/html")) {
    res.set(http::bhttp::field::cache_control, "no-cache");
    return res;
  }
  // A page load: counted without cookies, and the performance cookie follows the consent.
  (void)count_page_view(p.store, file->path, e.client_address(), p.clock.now_us());
  const std::optional<Caller> c = optional_session(p, e);
  const std::string subject = c ? c->who.subject_id : e.cookie(kVisitorCookie).value_or("");
  bool holds = false;
  if (!subject.empty()) {
    auto tx = p.store.begin(store::TxMode::read);
    if (tx.ok())
      if (auto h = p.consents.holds(**tx, subject, consent::ConsentPurpose::cookies_performance); h.ok()) holds = *h;
  }
  apply_performance_cookie(res, holds, e.cookie(kPerformanceCookie).has_value(), e.tls());
  return res;
}

}  // namespace privox::portal::routes
