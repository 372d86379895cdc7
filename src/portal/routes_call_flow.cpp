// Where a call to each of the company's numbers goes, for its office managers' picture: one tree
// per number (a line's or a receptionist's DID, a ring group's, a receptionist's or a line's
// number), computed from the store as the proxy would follow it. Every node has a "type":
//   line       the line's phones ring; `dnd`, `forwards` per condition (a node, or null when the
//              condition keeps the line's own treatment) and its `voicemail`;
//   group      `strategy`, `ring_seconds`, `members` (line nodes without their forwards, which a
//              group's call does not follow) and `overflow` (a node or null: busy);
//   voicemail  a line's box;  external  a number through the trunk;
//   missing    a target that no longer exists (the call falls back to the company's default);
//   ref        a line or group already drawn above on this path (`reason` loop) or too deep to draw
//              again (`reason` depth); a menu already drawn in this tree (`target_kind` menu,
//              `menu_id`, `name`, `reason` shown: menus lead back to their parents by design);
//   receptionist  `receptionist_id`, `number`, `name`, `to`: the hours node, or the open menu when
//              it plays at every hour (no closed menu, or the company set no business hours);
//   hours      `hours` (the company's week, as GET /company/hours shows it), `holidays` (how
//              many), `open` and `closed` (menu nodes);
//   menu       `menu_id`, `name`, `has_greeting`, `timeout_seconds`, `keys` ([{key, to}] in key
//              order), `timeout` (a node, or null: the menu plays again, then the call ends);
//   dial_by_extension  the caller dials a line's number;  repeat  the menu plays again;
//   conference  a conference room: `room_id`, `name`, `number` (what the company's phones dial: the
//              room's number, or *88 and the line's number for a line's room), `line` (the line's
//              number, or null for a company's room); callers key in its PIN and join.
// The page draws a type it does not know as a plain box with its name.
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "accounts/business_hours.h"
#include "callflow/conference.h"
#include "callflow/forwarding.h"
#include "callflow/groups.h"
#include "callflow/receptionist.h"
#include "portal/routes.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"

namespace privox::portal::routes {
namespace {

// How many forwards deep a tree goes before it shows a ref instead: enough for any chain a person
// would set up, and a bound on the answer's size.
constexpr int kCallFlowDepth = 4;

// The company's configuration, read once; the maps point into the vectors (whose elements keep
// their addresses when the struct is moved).
struct CallFlowData {
  std::vector<accounts::Extension> lines;
  std::vector<callflow::RingGroup> groups;
  std::map<std::string, const accounts::Extension*> line_by_id;
  std::map<std::string, const callflow::RingGroup*> group_by_id;
  std::map<std::string, callflow::Forwarding> forwarding;  // lines that have any
  std::vector<callflow::Menu> menus;
  std::vector<callflow::Receptionist> receptionists;
  std::map<std::string, const callflow::Menu*> menu_by_id;
  accounts::CompanyHours hours;
  std::vector<callflow::ConferenceRoom> rooms;
};

class CallFlowTree {
 public:
  explicit CallFlowTree(const CallFlowData& data) : data_(data) {}

  nlohmann::json line(const std::string& id, std::set<std::string>& path, int depth) const {
    const auto it = data_.line_by_id.find(id);
    if (it == data_.line_by_id.end()) return missing("line", id);
    const accounts::Extension& x = *it->second;
    if (path.count(id) || depth >= kCallFlowDepth) return ref("line", x.number, path.count(id) ? "loop" : "depth");
    const auto fwd = data_.forwarding.find(id);
    const callflow::Forwarding f = fwd == data_.forwarding.end() ? callflow::Forwarding{} : fwd->second;
    nlohmann::json node = line_summary(x, f.dnd);
    path.insert(id);
    node["forwards"] = {{"always", target(f.always, path, depth + 1)},
                        {"busy", target(f.busy, path, depth + 1)},
                        {"no_answer", target(f.no_answer, path, depth + 1)},
                        {"unregistered", target(f.unregistered, path, depth + 1)}};
    path.erase(id);
    node["no_answer_seconds"] = f.no_answer_seconds;
    node["voicemail"] = voicemail(id);
    return node;
  }

  // A receptionist's tree: the menu that plays, or both with the hours that choose between them.
  // Each menu is drawn once per tree; `shown` holds those drawn so far.
  nlohmann::json receptionist(const callflow::Receptionist& r) const {
    std::set<std::string> shown;
    nlohmann::json to;
    if (r.closed_menu_id && data_.hours.week) {
      nlohmann::json open = menu(r.open_menu_id, shown);
      nlohmann::json closed = menu(*r.closed_menu_id, shown);
      to = {{"type", "hours"}, {"hours", hours_json(data_.hours)["hours"]}, {"holidays", data_.hours.holidays.size()},
            {"open", std::move(open)}, {"closed", std::move(closed)}};
    } else {
      to = menu(r.open_menu_id, shown);
    }
    return {{"type", "receptionist"}, {"receptionist_id", r.id}, {"number", r.number}, {"name", r.name}, {"to", std::move(to)}};
  }

  // A room, or nullopt for a line's room whose line is gone (the proxy skips it too).
  std::optional<nlohmann::json> conference(const callflow::ConferenceRoom& r) const {
    nlohmann::json line = nullptr;
    std::string dial = r.number;
    if (r.line_id) {
      const auto it = data_.line_by_id.find(*r.line_id);
      if (it == data_.line_by_id.end()) return std::nullopt;
      line = it->second->number;
      dial = std::string(callflow::kLineRoomCode) + it->second->number;
    }
    return nlohmann::json{{"type", "conference"}, {"room_id", r.id}, {"name", r.name}, {"number", std::move(dial)},
                          {"line", std::move(line)}};
  }

  nlohmann::json group(const std::string& id, std::set<std::string>& path, int depth) const {
    const auto it = data_.group_by_id.find(id);
    if (it == data_.group_by_id.end()) return missing("group", id);
    const callflow::RingGroup& g = *it->second;
    if (path.count(id) || depth >= kCallFlowDepth) return ref("group", g.number, path.count(id) ? "loop" : "depth");
    nlohmann::json members = nlohmann::json::array();
    for (const std::string& member : g.member_line_ids) {
      const auto m = data_.line_by_id.find(member);
      if (m == data_.line_by_id.end()) {
        members.push_back(missing("line", member));
        continue;
      }
      const auto fwd = data_.forwarding.find(member);
      members.push_back(line_summary(*m->second, fwd != data_.forwarding.end() && fwd->second.dnd));
    }
    path.insert(id);
    nlohmann::json overflow = target(g.overflow, path, depth + 1);
    path.erase(id);
    return {{"type", "group"},
            {"group_id", g.id},
            {"number", g.number},
            {"name", g.name},
            {"strategy", callflow::to_string(g.strategy)},
            {"ring_seconds", g.ring_seconds},
            {"members", std::move(members)},
            {"overflow", std::move(overflow)}};
  }

 private:
  nlohmann::json target(const std::optional<callflow::Target>& t, std::set<std::string>& path, int depth) const {
    if (!t) return nullptr;
    switch (t->kind) {
      case callflow::TargetKind::line: return line(t->ref, path, depth);
      case callflow::TargetKind::group: return group(t->ref, path, depth);
      case callflow::TargetKind::voicemail: return voicemail(t->ref);
      case callflow::TargetKind::external: return {{"type", "external"}, {"number", t->ref}};
    }
    return missing(std::string(callflow::to_string(t->kind)), t->ref);
  }

  nlohmann::json menu(const std::string& id, std::set<std::string>& shown) const {
    const auto it = data_.menu_by_id.find(id);
    if (it == data_.menu_by_id.end()) return missing("menu", id);
    const callflow::Menu& m = *it->second;
    if (shown.count(id))
      return {{"type", "ref"}, {"target_kind", "menu"}, {"menu_id", m.id}, {"name", m.name}, {"reason", "shown"}};
    shown.insert(id);
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& [key, action] : m.keys) keys.push_back({{"key", std::string(1, key)}, {"to", menu_action(action, shown)}});
    nlohmann::json timeout = m.timeout ? menu_action(*m.timeout, shown) : nlohmann::json(nullptr);
    return {{"type", "menu"}, {"menu_id", m.id}, {"name", m.name}, {"has_greeting", m.has_greeting},
            {"timeout_seconds", m.timeout_seconds}, {"keys", std::move(keys)}, {"timeout", std::move(timeout)}};
  }

  // A key's action: a line or group is drawn with what follows it, from a path of its own.
  nlohmann::json menu_action(const callflow::MenuAction& action, std::set<std::string>& shown) const {
    std::set<std::string> path;
    switch (action.kind) {
      case callflow::MenuActionKind::line: return line(action.ref, path, 0);
      case callflow::MenuActionKind::group: return group(action.ref, path, 0);
      case callflow::MenuActionKind::voicemail: return voicemail(action.ref);
      case callflow::MenuActionKind::external: return {{"type", "external"}, {"number", action.ref}};
      case callflow::MenuActionKind::menu: return menu(action.ref, shown);
      case callflow::MenuActionKind::dial_by_extension: return {{"type", "dial_by_extension"}};
      case callflow::MenuActionKind::repeat: return {{"type", "repeat"}};
    }
    return missing(std::string(callflow::to_string(action.kind)), action.ref);
  }

  nlohmann::json voicemail(const std::string& line_id) const {
    const auto it = data_.line_by_id.find(line_id);
    if (it == data_.line_by_id.end()) return missing("voicemail", line_id);
    return {{"type", "voicemail"}, {"line_id", line_id}, {"number", it->second->number}, {"label", it->second->label}};
  }

  static nlohmann::json line_summary(const accounts::Extension& x, bool dnd) {
    return {{"type", "line"}, {"line_id", x.id}, {"number", x.number}, {"label", x.label}, {"dnd", dnd}};
  }
  static nlohmann::json missing(const std::string& kind, const std::string& ref_id) {
    return {{"type", "missing"}, {"target_kind", kind}, {"ref", ref_id}};
  }
  static nlohmann::json ref(const std::string& kind, const std::string& number, const char* reason) {
    return {{"type", "ref"}, {"target_kind", kind}, {"number", number}, {"reason", reason}};
  }

  const CallFlowData& data_;
};

Result<CallFlowData> call_flow_data(Portal::Impl& p, const std::string& company_id) {
  CallFlowData data;
  PRIVOX_ASSIGN(data.lines, p.extensions.list(company_id));
  PRIVOX_ASSIGN(data.groups, callflow::RingGroups(p.store, p.keys, p.clock).list(company_id));
  for (const accounts::Extension& x : data.lines) data.line_by_id[x.id] = &x;
  for (const callflow::RingGroup& g : data.groups) data.group_by_id[g.id] = &g;
  callflow::Receptionists receptionists(p.store, p.keys, p.clock);
  PRIVOX_ASSIGN(data.menus, receptionists.list_menus(company_id));
  PRIVOX_ASSIGN(data.receptionists, receptionists.list(company_id));
  for (const callflow::Menu& m : data.menus) data.menu_by_id[m.id] = &m;
  PRIVOX_ASSIGN(data.hours, accounts::BusinessHours(p.store, p.keys, p.clock).get(company_id));
  PRIVOX_ASSIGN(data.rooms, callflow::Conferences(p.store, p.keys, p.clock).list(company_id));
  PRIVOX_TRY(store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    data.forwarding.clear();
    for (const accounts::Extension& x : data.lines) {
      PRIVOX_ASSIGN(std::optional<callflow::Forwarding> f, callflow::forwarding_of(s, p.keys, x.id));
      if (f) data.forwarding.emplace(x.id, std::move(*f));
    }
    return {};
  }));
  return data;
}

// Whether any of the line's forwards goes to a number outside (through the trunk).
bool forwards_outside(const callflow::Forwarding& f) {
  for (const auto* t : {&f.always, &f.busy, &f.no_answer, &f.unregistered})
    if (*t && (*t)->kind == callflow::TargetKind::external) return true;
  return false;
}

// A member's number outside (an external forward) is their personal data: the picture shows it to
// `reader`, so each such line not the reader's own is audited forwarding.read, naming its member,
// as GET /lines/{id}/forwarding is, before the answer leaves.
Status audit_numbers_shown(Portal::Impl& p, const CallFlowData& data, const std::string& reader) {
  std::vector<const accounts::Extension*> shown;
  for (const auto& [line_id, f] : data.forwarding) {
    const auto line = data.line_by_id.find(line_id);
    if (line == data.line_by_id.end() || !forwards_outside(f)) continue;
    const std::string member = line->second->member_id.value_or("");
    if (!member.empty() && member != reader) shown.push_back(line->second);
  }
  if (shown.empty()) return {};
  return store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    privacy::AuditChain audit(p.keys, p.clock);
    for (const accounts::Extension* x : shown)
      PRIVOX_TRY(audit.append(s, {reader, "forwarding.read", x->member_id.value_or(""),
                                  std::string(privacy::to_string(privacy::Purpose::service)),
                                  {{"line_id", x->id}, {"company_id", x->company_id}, {"view", "call_flow"}}}));
    return {};
  });
}

}  // namespace

// Numbers from outside (DIDs) first, then the groups', the receptionists', the conference rooms' and
// the lines' numbers.
Response call_flow_show(Portal::Impl& p, const Exchange&, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto data = call_flow_data(p, c.who.company_id);
  if (!data.ok()) return error_response(data.error());
  if (Status audited = audit_numbers_shown(p, *data, c.who.subject_id); !audited.ok())
    return error_response(audited.error());
  const CallFlowTree tree(*data);
  nlohmann::json numbers = nlohmann::json::array();
  std::set<std::string> path;
  for (const accounts::Extension& x : data->lines)
    if (x.did) numbers.push_back({{"number", *x.did}, {"kind", "did"}, {"to", tree.line(x.id, path, 0)}});
  for (const callflow::Receptionist& r : data->receptionists)
    if (r.did) numbers.push_back({{"number", *r.did}, {"kind", "did"}, {"to", tree.receptionist(r)}});
  std::vector<nlohmann::json> rooms;  // the rooms drawn, in the order of data->rooms
  for (const callflow::ConferenceRoom& r : data->rooms) {
    std::optional<nlohmann::json> room = tree.conference(r);
    if (!room) continue;
    if (r.did) numbers.push_back({{"number", *r.did}, {"kind", "did"}, {"to", *room}});
    rooms.push_back(std::move(*room));
  }
  for (const callflow::RingGroup& g : data->groups)
    numbers.push_back({{"number", g.number}, {"kind", "group"}, {"to", tree.group(g.id, path, 0)}});
  for (const callflow::Receptionist& r : data->receptionists)
    numbers.push_back({{"number", r.number}, {"kind", "receptionist"}, {"to", tree.receptionist(r)}});
  for (nlohmann::json& room : rooms) {
    std::string dial = room["number"];
    numbers.push_back({{"number", std::move(dial)}, {"kind", "conference"}, {"to", std::move(room)}});
  }
  for (const accounts::Extension& x : data->lines)
    numbers.push_back({{"number", x.number}, {"kind", "line"}, {"to", tree.line(x.id, path, 0)}});
  return http::json_response(status::ok, {{"numbers", std::move(numbers)}});
}

}  // namespace privox::portal::routes
