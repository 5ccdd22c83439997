#include "scan/policy.h"

#include "common/json_writer.h"
#include "json/json.h"

namespace cs::scan {

namespace {

bool ParseAction(std::string_view name, Action* action) {
  if (name == "allow") *action = Action::kAllow;
  else if (name == "flag") *action = Action::kFlag;
  else if (name == "mask") *action = Action::kMask;
  else if (name == "refuse") *action = Action::kRefuse;
  else return false;
  return true;
}

Status ReadDirection(const JsonValue& object, Direction d, ContentPolicy* policy) {
  const std::string_view where = d == Direction::kOutbound ? "outbound" : "inbound";
  if (!object.is_object()) return InvalidArgument("invalid_policy", std::string(where) + " must be an object");
  for (const auto& [key, value] : object.as_object()) {
    FindingType type;
    if (!ParseType(key, &type)) {
      return InvalidArgument("invalid_policy", std::string(where) + ": unknown type \"" + key.substr(0, 40) +
                                                   "\" (known: card, iban, email, phone, dob, national_id, health)");
    }
    Action action;
    if (!value.is_string() || !ParseAction(value.as_string(), &action)) {
      return InvalidArgument("invalid_policy", std::string(where) + "." + key + ": expected an action name");
    }
    const bool allowed = d == Direction::kOutbound
                             ? (action == Action::kAllow || action == Action::kMask || action == Action::kRefuse)
                             : (action == Action::kFlag || action == Action::kMask);
    if (!allowed) {
      return InvalidArgument("invalid_policy", std::string(where) + "." + key + ": " +
                                                   (d == Direction::kOutbound ? "use allow, mask or refuse"
                                                                              : "use flag or mask"));
    }
    const Action fixed = d == Direction::kOutbound ? Action::kRefuse : Action::kMask;
    if (type == FindingType::kCard && action != fixed) {
      return InvalidArgument("card_policy_fixed", "card numbers are always refused outbound and masked inbound "
                                                  "(PCI DSS 3.3, 3.4)");
    }
    (d == Direction::kOutbound ? policy->outbound : policy->inbound)[static_cast<size_t>(type)] = action;
  }
  return Status::Ok();
}

}  // namespace

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kAllow: return "allow";
    case Action::kFlag: return "flag";
    case Action::kMask: return "mask";
    case Action::kRefuse: return "refuse";
  }
  return "allow";
}

ContentPolicy ContentPolicy::Defaults() {
  ContentPolicy p;
  p.outbound.fill(Action::kAllow);
  p.inbound.fill(Action::kFlag);
  for (FindingType t : {FindingType::kCard, FindingType::kIban, FindingType::kNationalId}) {
    p.outbound[static_cast<size_t>(t)] = Action::kRefuse;
    p.inbound[static_cast<size_t>(t)] = Action::kMask;
  }
  return p;
}

Result<ContentPolicy> ContentPolicy::FromJson(std::string_view json) {
  Result<JsonValue> parsed = ParseJson(json);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return InvalidArgument("invalid_policy", "the policy must be a JSON object");
  ContentPolicy policy = Defaults();
  for (const auto& [key, value] : parsed->as_object()) {
    if (key == "outbound") {
      CS_RETURN_IF_ERROR(ReadDirection(value, Direction::kOutbound, &policy));
    } else if (key == "inbound") {
      CS_RETURN_IF_ERROR(ReadDirection(value, Direction::kInbound, &policy));
    } else if (key == "pan_reply") {
      if (!value.is_string() || value.as_string().size() > 1024) {
        return InvalidArgument("invalid_policy", "pan_reply must be a string of at most 1024 bytes");
      }
      policy.pan_reply = value.as_string();
    } else {
      return InvalidArgument("invalid_policy",
                             "unknown key \"" + key.substr(0, 40) + "\" (known: outbound, inbound, pan_reply)");
    }
  }
  return policy;
}

std::string ContentPolicy::ToJson() const {
  JsonWriter w;
  w.BeginObject();
  for (Direction d : {Direction::kOutbound, Direction::kInbound}) {
    w.Key(d == Direction::kOutbound ? "outbound" : "inbound").BeginObject();
    for (int k = 0; k < kFindingTypeCount; ++k) {
      const auto t = static_cast<FindingType>(k);
      w.Key(TypeName(t)).String(ActionName(For(d, t)));
    }
    w.EndObject();
  }
  if (!pan_reply.empty()) w.Key("pan_reply").String(pan_reply);
  w.EndObject();
  return w.Take();
}

Decision Decide(const ContentPolicy& policy, Direction direction, std::string_view text,
                std::vector<Finding> findings) {
  Decision d;
  std::vector<Finding> to_mask;
  for (const Finding& f : findings) {
    const Action a = policy.For(direction, f.type);
    d.actions.push_back(a);
    if (a == Action::kRefuse) d.refused = true;
    if (a == Action::kMask) to_mask.push_back(f);
  }
  d.findings = std::move(findings);
  d.masked = !to_mask.empty();
  d.text = d.masked ? Mask(text, to_mask) : std::string(text);
  return d;
}

std::string FindingsJson(const Decision& decision) {
  JsonWriter w;
  w.BeginArray();
  for (size_t i = 0; i < decision.findings.size(); ++i) {
    const Finding& f = decision.findings[i];
    w.BeginObject().Key("type").String(TypeName(f.type));
    if (!f.detail.empty()) w.Key("detail").String(f.detail);
    w.Key("start").Int(static_cast<int64_t>(f.start)).Key("end").Int(static_cast<int64_t>(f.end));
    w.Key("action").String(ActionName(decision.actions[i])).EndObject();
  }
  w.EndArray();
  return w.Take();
}

std::string ExplainJson(const ContentPolicy& policy, std::string_view text, const std::vector<Finding>& findings,
                        bool with_masked_text) {
  const Decision out = Decide(policy, Direction::kOutbound, text, findings);
  const Decision in = Decide(policy, Direction::kInbound, text, findings);
  JsonWriter w;
  w.BeginObject().Key("findings").BeginArray();
  for (size_t i = 0; i < findings.size(); ++i) {
    const Finding& f = findings[i];
    w.BeginObject().Key("type").String(TypeName(f.type));
    if (!f.detail.empty()) w.Key("detail").String(f.detail);
    w.Key("start").Int(static_cast<int64_t>(f.start)).Key("end").Int(static_cast<int64_t>(f.end));
    w.Key("outbound").String(ActionName(out.actions[i])).Key("inbound").String(ActionName(in.actions[i]));
    w.EndObject();
  }
  w.EndArray();
  w.Key("outbound").String(out.refused ? "refused" : out.masked ? "masked" : "sent");
  if (with_masked_text) w.Key("masked_text").String(in.text);
  w.EndObject();
  return w.Take();
}

}  // namespace cs::scan
