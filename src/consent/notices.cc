// The privacy notices of notices.h.
#include "consent/notices.h"

#include <algorithm>
#include <array>
#include <utility>

#include "common/json_writer.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "consent/keywords.h"

namespace cs {

namespace {

// A reservation whose send never reported back (the process died between
// the commit and the send) stops blocking a new attempt after this long.
constexpr int64_t kReservationMs = 10 * 60 * 1000;
// Notices cannot be backdated: evidence must not predate its own record.
constexpr int64_t kBackdateToleranceMs = 5 * 60 * 1000;
constexpr size_t kMaxNoticeBytes = 100'000;
// WhatsApp's text body limit is 4096 characters; the footer needs room.
constexpr size_t kMaxInfoMessageBytes = 3'000;

bool IsVersionName(std::string_view v) {
  if (v.empty() || v.size() > 64) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
  });
}

bool IsLanguageCode(std::string_view l) {
  return l.size() == 2 && std::all_of(l.begin(), l.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

bool Covers(const std::vector<std::string>& purposes, const std::string& purpose_id) {
  return purposes.empty() || std::find(purposes.begin(), purposes.end(), purpose_id) != purposes.end();
}

}  // namespace

std::string LanguageForPhone(std::string_view e164) {
  // Country calling codes whose countries mostly read one of the notice
  // languages; multilingual countries without a clear majority are left
  // out, so the tenant's English or first language is used instead.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 48> kCodes{{
      {"1", "en"},   {"44", "en"},  {"353", "en"}, {"61", "en"},  {"64", "en"},  {"27", "en"},  {"49", "de"},
      {"43", "de"},  {"41", "de"},  {"423", "de"}, {"33", "fr"},  {"377", "fr"}, {"352", "fr"}, {"39", "it"},
      {"378", "it"}, {"34", "es"},  {"52", "es"},  {"54", "es"},  {"56", "es"},  {"57", "es"},  {"58", "es"},
      {"51", "es"},  {"53", "es"},  {"593", "es"}, {"591", "es"}, {"595", "es"}, {"598", "es"}, {"502", "es"},
      {"503", "es"}, {"504", "es"}, {"505", "es"}, {"506", "es"}, {"507", "es"}, {"351", "pt"}, {"55", "pt"},
      {"244", "pt"}, {"258", "pt"}, {"31", "nl"},  {"30", "el"},  {"45", "da"},  {"46", "sv"},  {"47", "no"},
      {"358", "fi"}, {"48", "pl"},  {"420", "cs"}, {"36", "hu"},  {"40", "ro"},  {"90", "tr"},
  }};
  if (!e164.empty() && e164.front() == '+') e164.remove_prefix(1);
  std::string_view best;
  size_t best_len = 0;
  for (const auto& [code, language] : kCodes) {
    if (code.size() > best_len && e164.substr(0, code.size()) == code) {
      best = language;
      best_len = code.size();
    }
  }
  return std::string(best);
}

std::string NoticeRegistry::InformationText(const Notice& notice) {
  return notice.info_message + "\n\n" + OptOutFooter(notice.language);
}

Result<NoticeRegistry::Notices> NoticeRegistry::Load(const std::string& tenant_id, ConsentRepository& via,
                                                     int64_t max_age_ms) {
  const int64_t now = clock_.NowUnixMillis();
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(tenant_id);
    if (it != cache_.end() && now - it->second.loaded_at_ms < max_age_ms) return it->second.notices;
  }
  CS_ASSIGN_OR_RETURN(std::vector<Notice> all, via.ListNotices(tenant_id));
  auto loaded = std::make_shared<const std::vector<Notice>>(std::move(all));
  std::lock_guard lock(mu_);
  cache_[tenant_id] = Cached{loaded, now};
  return loaded;
}

void NoticeRegistry::Invalidate(const std::string& tenant_id) {
  std::lock_guard lock(mu_);
  cache_.erase(tenant_id);
}

Result<Notice> NoticeRegistry::Publish(const AuditActor& actor, Notice n) {
  if (!IsVersionName(n.version)) return InvalidArgument("invalid_field", "version must be 1-64 of [A-Za-z0-9._-]");
  if (!IsLanguageCode(n.language)) return InvalidArgument("invalid_field", "language must be an ISO 639-1 code such as en or de");
  if (n.text.empty() || n.text.size() > kMaxNoticeBytes) {
    return InvalidArgument("invalid_field", "text must be the notice's exact text, at most 100000 bytes");
  }
  if (n.info_message.empty() || n.info_message.size() > kMaxInfoMessageBytes) {
    return InvalidArgument("invalid_field",
                           "info_message (the short message sent at first contact, with where to read the notice) "
                           "must be 1-3000 bytes");
  }
  const int64_t now = clock_.NowUnixMillis();
  if (n.valid_from_ms == 0) n.valid_from_ms = now;
  if (n.valid_from_ms < now - kBackdateToleranceMs) {
    return InvalidArgument("invalid_field", "valid_from cannot be in the past: a notice cannot be backdated");
  }
  std::sort(n.reconsent_purposes.begin(), n.reconsent_purposes.end());
  std::sort(n.special_category_purposes.begin(), n.special_category_purposes.end());
  if (!n.requires_reconsent && !n.reconsent_purposes.empty()) {
    return InvalidArgument("invalid_field", "reconsent_purposes needs requires_reconsent");
  }
  n.sha256 = HexEncode(Sha256({n.text}));
  n.created_at_ms = now;
  n.created_by = actor.type + ":" + actor.id;
  Status s = store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(std::vector<Purpose> purposes, tx.consents().ListPurposes(n.tenant_id));
    for (const auto* list : {&n.reconsent_purposes, &n.special_category_purposes}) {
      for (const std::string& id : *list) {
        if (std::none_of(purposes.begin(), purposes.end(), [&](const Purpose& p) { return p.id == id; })) {
          return InvalidArgument("invalid_field", "no such purpose: " + id);
        }
      }
    }
    CS_ASSIGN_OR_RETURN(std::vector<Notice> stored, tx.consents().ListNotices(n.tenant_id));
    int64_t max_seq = 0;
    n.seq = 0;
    for (const Notice& o : stored) {
      max_seq = std::max(max_seq, o.seq);
      if (o.version != n.version) continue;
      // One version means one set of rules, whatever its language.
      if (o.requires_reconsent != n.requires_reconsent || o.reconsent_purposes != n.reconsent_purposes ||
          o.special_category_purposes != n.special_category_purposes) {
        return FailedPrecondition("notice_conflict", "version " + n.version +
                                                         " exists in another language with other requires_reconsent "
                                                         "or purpose lists");
      }
      n.seq = o.seq;
    }
    if (n.seq == 0) n.seq = max_seq + 1;
    CS_RETURN_IF_ERROR(tx.consents().InsertNotice(n));
    AuditEvent e{
        .tenant_id = n.tenant_id,
        .actor = actor,
        .action = "notice.publish",
        .resource = "notice:" + n.version + ":" + n.language
    };
    JsonWriter w;
    w.BeginObject().Key("version").String(n.version).Key("language").String(n.language);
    w.Key("sha256").String(n.sha256).Key("requires_reconsent").Bool(n.requires_reconsent);
    w.Key("valid_from").String(FormatRfc3339Millis(n.valid_from_ms)).EndObject();
    e.details = w.Take();
    return ledger_.Record(tx, e);
  });
  Invalidate(n.tenant_id);
  CS_RETURN_IF_ERROR(s);
  return n;
}

Result<std::vector<Notice>> NoticeRegistry::List(const std::string& tenant_id) {
  CS_ASSIGN_OR_RETURN(Notices all, Load(tenant_id));
  return *all;
}

Result<Notice> NoticeRegistry::Resolve(const std::string& tenant_id, const std::string& version,
                                       const std::string& language, const std::string& sha256) {
  CS_ASSIGN_OR_RETURN(Notices all, Load(tenant_id));
  std::vector<const Notice*> of_version;
  for (const Notice& n : *all) {
    if (n.version == version) of_version.push_back(&n);
  }
  if (of_version.empty()) {
    // Maybe published through another process within the cache's life.
    Invalidate(tenant_id);
    CS_ASSIGN_OR_RETURN(all, Load(tenant_id));
    for (const Notice& n : *all) {
      if (n.version == version) of_version.push_back(&n);
    }
  }
  if (of_version.empty()) {
    return InvalidArgument("notice_unknown", "notice version " + version +
                                                 " is not published: publish it first (POST /v1/notices), so the "
                                                 "evidence points at the exact text shown");
  }
  for (const Notice* n : of_version) {
    if (!sha256.empty() && n->sha256 == sha256 && (language.empty() || n->language == language)) return *n;
    if (sha256.empty() && n->language == language) return *n;
  }
  if (!sha256.empty()) {
    return InvalidArgument("notice_mismatch", "notice_sha256 matches no published text of version " + version +
                                                  ": the text shown is not the one published");
  }
  if (language.empty() && of_version.size() == 1) return *of_version.front();
  return InvalidArgument("notice_unknown", "version " + version + " has no text in language '" + language +
                                               "': name notice_language or give notice_sha256");
}

std::optional<Notice> NoticeRegistry::InForceIn(const std::vector<Notice>& all, std::string_view language) const {
  const int64_t now = clock_.NowUnixMillis();
  int64_t best_seq = 0;
  for (const Notice& n : all) {
    if (n.valid_from_ms <= now) best_seq = std::max(best_seq, n.seq);
  }
  if (best_seq == 0) return std::nullopt;
  for (std::string_view want : {language, std::string_view("en"), std::string_view()}) {
    for (const Notice& n : all) {
      if (n.seq == best_seq && n.valid_from_ms <= now && (want.empty() || n.language == want)) return n;
    }
  }
  return std::nullopt;
}

Result<std::optional<Notice>> NoticeRegistry::InForce(const std::string& tenant_id, std::string_view language) {
  CS_ASSIGN_OR_RETURN(Notices all, Load(tenant_id));
  return InForceIn(*all, language);
}

Result<NoticeRegistry::Floor> NoticeRegistry::ReconsentFloor(const std::string& tenant_id,
                                                             const std::string& purpose_id) {
  CS_ASSIGN_OR_RETURN(Notices all, Load(tenant_id));
  const int64_t now = clock_.NowUnixMillis();
  Floor floor;
  for (const Notice& n : *all) {
    if (n.requires_reconsent && n.valid_from_ms <= now && n.seq > floor.seq && Covers(n.reconsent_purposes, purpose_id)) {
      floor = {n.seq, n.version};
    }
  }
  return floor;
}

int64_t NoticeRegistry::SeqIn(const std::vector<Notice>& notices, const std::string& version) {
  for (const Notice& n : notices) {
    if (n.version == version) return n.seq;
  }
  return 0;
}

Result<int64_t> NoticeRegistry::SeqOf(const std::string& tenant_id, const std::string& version) {
  CS_ASSIGN_OR_RETURN(Notices all, Load(tenant_id));
  int64_t seq = SeqIn(*all, version);
  if (seq == 0 && !version.empty()) {
    // Maybe published through another process since: look again, but not
    // for every consent of a version that was never stored.
    CS_ASSIGN_OR_RETURN(all, Load(tenant_id, store_.consents(), 1000));
    seq = SeqIn(*all, version);
  }
  return seq;
}

Result<std::optional<Notice>> NoticeRegistry::ReserveInformation(StoreTransaction& tx, const std::string& tenant_id,
                                                                 const std::string& subject, std::string_view language,
                                                                 const std::string& channel_id) {
  // Read through the transaction: a second connection could wait forever
  // for a pool of one, and would not see the transaction's own writes.
  CS_ASSIGN_OR_RETURN(Notices all, Load(tenant_id, tx.consents()));
  std::optional<Notice> notice = InForceIn(*all, language);
  if (!notice) return std::optional<Notice>();
  if (KnownDelivered(tenant_id, subject, notice->version)) return std::optional<Notice>();
  const int64_t now = clock_.NowUnixMillis();
  CS_ASSIGN_OR_RETURN(std::vector<NoticeDelivery> deliveries, tx.consents().NoticeDeliveries(tenant_id, subject));
  bool informed = false, informed_of_this = false;
  for (const NoticeDelivery& d : deliveries) {
    // A reservation still in flight counts; one abandoned by a crash does not.
    if (d.message_id.empty() && d.source == "info_message" && now - d.at_ms >= kReservationMs) continue;
    informed = true;
    if (d.version == notice->version) informed_of_this = true;
  }
  // Minor revisions are not pushed to everyone; one asking for re-consent is.
  if (informed_of_this || (informed && !notice->requires_reconsent)) {
    RememberDelivered(tenant_id, subject, notice->version);
    return std::optional<Notice>();
  }
  CS_RETURN_IF_ERROR(tx.consents().PutNoticeDelivery(
      NoticeDelivery{tenant_id, subject, notice->version, notice->language, "info_message", channel_id, "", now}));
  return notice;
}

Status NoticeRegistry::Delivered(const std::string& tenant_id, const std::string& subject, const Notice& notice,
                                 const std::string& channel_id, const Result<std::string>& message_id) {
  Status s = store_.InTransaction([&](StoreTransaction& tx) -> Status {
    AuditEvent e{
        .tenant_id = tenant_id,
        .actor = AuditActor{"system", "notice", "notice", ""},
        .subject = subject,
        .resource = "notice:" + notice.version + ":" + notice.language
    };
    if (message_id.ok()) {
      CS_RETURN_IF_ERROR(tx.consents().PutNoticeDelivery(NoticeDelivery{tenant_id, subject, notice.version,
                                                                        notice.language, "info_message", channel_id,
                                                                        *message_id, clock_.NowUnixMillis()}));
      e.action = "notice.sent";
      JsonWriter w;
      w.BeginObject().Key("version").String(notice.version).Key("language").String(notice.language);
      w.Key("sha256").String(notice.sha256).Key("channel_id").String(channel_id);
      w.Key("message_id").String(*message_id).EndObject();
      e.details = w.Take();
    } else {
      CS_RETURN_IF_ERROR(tx.consents().ReleaseNoticeReservation(tenant_id, subject, notice.version, notice.language));
      e.action = "notice.send_failed";
      e.outcome = message_id.status().machine_code().empty() ? "internal" : message_id.status().machine_code();
    }
    return ledger_.Record(tx, e);
  });
  if (s.ok() && message_id.ok()) RememberDelivered(tenant_id, subject, notice.version);
  return s;
}

bool NoticeRegistry::KnownDelivered(const std::string& tenant_id, const std::string& subject,
                                    const std::string& version) {
  std::lock_guard lock(mu_);
  auto it = delivered_.find(tenant_id + "\n" + subject);
  return it != delivered_.end() && std::find(it->second.begin(), it->second.end(), version) != it->second.end();
}

void NoticeRegistry::RememberDelivered(const std::string& tenant_id, const std::string& subject,
                                       const std::string& version) {
  std::lock_guard lock(mu_);
  if (delivered_.size() >= kMaxDelivered) delivered_.clear();
  delivered_[tenant_id + "\n" + subject].push_back(version);
}

void NoticeRegistry::ForgetSubject(const std::string& tenant_id, const std::string& subject) {
  std::lock_guard lock(mu_);
  delivered_.erase(tenant_id + "\n" + subject);
}

}  // namespace cs
