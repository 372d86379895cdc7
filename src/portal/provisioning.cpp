#include "portal/provisioning.h"

#include <fmt/format.h>
#include <qrencode.h>

#include <memory>

#include "common/markup.h"

namespace privox::portal {
namespace {

constexpr std::string_view kNoPassword =
    "no password: privox keeps only a hash of it. Reset the line's password on the Extensions page "
    "to download this file with the new one.";

// What the phone's screen shows: the number, and the label when there is one.
std::string display_label(const accounts::Extension& line) {
  return line.label.empty() ? line.number : fmt::format("{} {}", line.number, line.label);
}

std::string baresip_file(const PhoneServer& server, const accounts::Extension& line, std::string_view password) {
  std::string out = fmt::format("# privox line {}: add this line to baresip's accounts file (~/.baresip/accounts)\n",
                                line.number);
  if (password.empty()) out += fmt::format("# {}\n", kNoPassword);
  out += baresip_account(server, line, password) + "\n";
  return out;
}

// Yealink T4x/T5x auto-provisioning (the <MAC>.cfg or y0000000000xx.cfg format).
std::string yealink_file(const PhoneServer& server, const accounts::Extension& line, std::string_view password) {
  std::string out = "#!version:1.0.0.1\n";
  out += fmt::format("## privox line {}\n", line.number);
  if (password.empty()) out += fmt::format("## {}\n", kNoPassword);
  out += "account.1.enable = 1\n";
  out += fmt::format("account.1.label = {}\n", display_label(line));
  out += fmt::format("account.1.display_name = {}\n", display_label(line));
  out += fmt::format("account.1.auth_name = {}\n", line.sip_user);
  out += fmt::format("account.1.user_name = {}\n", line.sip_user);
  if (!password.empty()) out += fmt::format("account.1.password = {}\n", password);
  out += fmt::format("account.1.sip_server.1.address = {}\n", server.host);
  out += fmt::format("account.1.sip_server.1.port = {}\n", server.port);
  out += "account.1.sip_server.1.transport_type = 0\n";  // 0 UDP, 1 TCP
  return out;
}

// Poly (Polycom) UC Software's per-phone XML configuration.
std::string polycom_file(const PhoneServer& server, const accounts::Extension& line, std::string_view password) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
  out += fmt::format("<!-- privox line {} -->\n", line.number);
  if (password.empty()) out += fmt::format("<!-- {} -->\n", kNoPassword);
  out += "<polycomConfig>\n  <reg";
  // Attribute values: the label is the company's text.
  out += fmt::format(" reg.1.address=\"{}\"", markup_escaped(line.sip_user));
  out += fmt::format(" reg.1.label=\"{}\"", markup_escaped(display_label(line)));
  out += fmt::format(" reg.1.displayName=\"{}\"", markup_escaped(display_label(line)));
  out += fmt::format(" reg.1.auth.userId=\"{}\"", markup_escaped(line.sip_user));
  if (!password.empty()) out += fmt::format(" reg.1.auth.password=\"{}\"", markup_escaped(password));
  out += fmt::format(" reg.1.server.1.address=\"{}\"", markup_escaped(server.host));
  out += fmt::format(" reg.1.server.1.port=\"{}\"", server.port);
  out += " reg.1.server.1.transport=\"UDPOnly\"/>\n</polycomConfig>\n";
  return out;
}

}  // namespace

std::string_view to_string(ProvisioningFormat format) {
  switch (format) {
    case ProvisioningFormat::baresip: return "baresip";
    case ProvisioningFormat::yealink: return "yealink";
    case ProvisioningFormat::polycom: return "polycom";
  }
  return "";
}

std::optional<ProvisioningFormat> parse_provisioning_format(std::string_view text) {
  for (const ProvisioningFormat f : kProvisioningFormats)
    if (to_string(f) == text) return f;
  return std::nullopt;
}

std::string baresip_account(const PhoneServer& server, const accounts::Extension& line, std::string_view password) {
  std::string out = fmt::format("<sip:{}@{}:{};transport=udp>", line.sip_user, server.host, server.port);
  if (!password.empty()) out += fmt::format(";auth_pass={}", password);
  return out;
}

ProvisioningFile provisioning_file(ProvisioningFormat format, const PhoneServer& server,
                                   const accounts::Extension& line, std::string_view password) {
  switch (format) {
    case ProvisioningFormat::baresip:
      return {format, fmt::format("privox-{}-baresip.txt", line.number), "text/plain; charset=utf-8",
              baresip_file(server, line, password)};
    case ProvisioningFormat::yealink:
      return {format, fmt::format("privox-{}-yealink.cfg", line.number), "text/plain; charset=utf-8",
              yealink_file(server, line, password)};
    case ProvisioningFormat::polycom:
      return {format, fmt::format("privox-{}-polycom.xml", line.number), "application/xml; charset=utf-8",
              polycom_file(server, line, password)};
  }
  return {};
}

std::string qr_svg(std::string_view text) {
  const std::string input(text);  // libqrencode wants a NUL-terminated string
  const std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString(input.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  if (!code) return "";
  constexpr int kQuiet = 4;
  const int width = code->width;
  const int size = width + 2 * kQuiet;
  std::string path;
  for (int y = 0; y < width; ++y)
    for (int x = 0; x < width; ++x)
      if (code->data[y * width + x] & 1) path += fmt::format("M{} {}h1v1h-1z", x + kQuiet, y + kQuiet);
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {0}\" shape-rendering=\"crispEdges\">"
      "<rect width=\"{0}\" height=\"{0}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{1}\"/></svg>",
      size, path);
}

}  // namespace privox::portal
