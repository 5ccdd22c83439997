// Dispatcher: from outbound jobs to the Cloud API (docs/messaging.md).
#include <chrono>
#include <deque>
#include <optional>
#include <random>

#include "common/json_writer.h"
#include "common/strings.h"
#include "messaging/dispatcher.h"
#include "messaging/forwarding.h"
#include "messaging/message_state.h"
#include "messaging/provider_ids.h"
#include "store/group_commit.h"
#include "whatsapp/cloud_api.h"

namespace cs {

namespace {

using whatsapp::RetryPolicy;

// Per-channel pacing. Sends are reserved in time order: each reservation
// is at least 1/rate after the previous one, and never less than a second
// (plus a margin for the two clocks) after the send `rate` places earlier,
// so no one-second window, sliding or fixed, holds more than `rate` sends
// (no 130429), while the average stays at the configured rate.
struct ChannelPacer {
  int64_t next_us = 0;
  std::deque<int64_t> recent_us;  // the last `rate` reservations
  int consecutive_failures = 0;
  int64_t open_until_ms = 0;      // circuit breaker
  bool alerted_open = false;
};

struct PairPacer {
  double tokens = -1;  // -1: not initialised
  int64_t refilled_ms = 0;
  int64_t blocked_until_ms = 0;
};

constexpr int64_t kWindowMarginUs = 5000;

}  // namespace

struct Dispatcher::Impl {
  Store& store;
  GroupCommitter& commits;
  ConsentService& consent;
  TenantKeyring& keyring;
  ChannelService& channels;
  const AuditLedger& ledger;
  const Clock& clock;
  Random& random;
  DispatcherOptions o;
  std::function<void(const std::string&)> alert;
  DispatcherStats& stats;

  std::atomic<bool> stopping{false};
  std::vector<std::thread> workers;

  std::mutex mu;
  std::map<std::string, Channel> channel_cache;  // guarded by mu
  int64_t channels_loaded_ms = 0;                // guarded by mu
  std::map<std::string, ChannelPacer> pacers;    // guarded by mu
  std::map<std::string, PairPacer> pairs;        // guarded by mu

  Impl(Store& s, GroupCommitter& g, ConsentService& cs, TenantKeyring& k, ChannelService& c, const AuditLedger& l,
       const Clock& cl, Random& r, DispatcherOptions opt, std::function<void(const std::string&)> a, DispatcherStats& st)
      : store(s), commits(g), consent(cs), keyring(k), channels(c), ledger(l), clock(cl), random(r), o(opt), alert(std::move(a)),
        stats(st) {}

  void Alert(const std::string& what) {
    if (alert) alert(what);
  }

  // Pacing runs on the monotonic clock: a wall-clock jump neither bursts nor stalls the sends (F-19).
  int64_t SteadyMicros() const { return clock.MonotonicNanos() / 1000; }

  Result<Channel> ChannelFor(const std::string& id) {
    std::lock_guard lock(mu);
    int64_t now = clock.NowUnixMillis();
    if (now - channels_loaded_ms > 1000 || channel_cache.find(id) == channel_cache.end()) {
      CS_ASSIGN_OR_RETURN(std::vector<Channel> all, store.channels().AllChannels());
      channel_cache.clear();
      for (Channel& c : all) channel_cache.emplace(c.id, std::move(c));
      channels_loaded_ms = now;
    }
    auto it = channel_cache.find(id);
    if (it == channel_cache.end()) return NotFound("no such channel");
    return it->second;
  }

  // Returns when the next send on `channel` may happen (steady µs), reserving it.
  int64_t ReserveSlot(const Channel& channel) {
    std::lock_guard lock(mu);
    ChannelPacer& p = pacers[channel.id];
    const int64_t rate = std::max<int64_t>(1, channel.throughput_per_second);
    int64_t at = std::max(SteadyMicros(), p.next_us);
    if (static_cast<int64_t>(p.recent_us.size()) >= rate) {
      at = std::max(at, p.recent_us.front() + 1000000 + kWindowMarginUs);
      p.recent_us.pop_front();
    }
    p.recent_us.push_back(at);
    p.next_us = at + 1000000 / rate;
    return at;
  }

  // Takes a pair-rate token for (channel, subject); returns 0 or the unix
  // ms time the job should wait for.
  int64_t TakePairToken(const std::string& channel_id, const std::string& subject) {
    std::lock_guard lock(mu);
    int64_t now = clock.NowUnixMillis();
    PairPacer& p = pairs[channel_id + "/" + subject];
    if (p.tokens < 0) {
      p.tokens = o.pair_burst;
      p.refilled_ms = now;
    }
    if (p.blocked_until_ms > now) return p.blocked_until_ms;
    const double interval_ms = o.pair_interval_seconds * 1000;
    p.tokens = std::min<double>(o.pair_burst, p.tokens + (now - p.refilled_ms) / interval_ms);
    p.refilled_ms = now;
    if (p.tokens < 1) return now + static_cast<int64_t>((1 - p.tokens) * interval_ms) + 1;
    p.tokens -= 1;
    // Keep the table small: drop pairs that are back to a full burst.
    if (pairs.size() > 100000) {
      for (auto it = pairs.begin(); it != pairs.end();) {
        it = it->second.tokens >= o.pair_burst - 1 && it->second.blocked_until_ms <= now ? pairs.erase(it) : std::next(it);
      }
    }
    return 0;
  }

  void BlockPair(const std::string& channel_id, const std::string& subject, int64_t until_ms) {
    std::lock_guard lock(mu);
    PairPacer& p = pairs[channel_id + "/" + subject];
    p.blocked_until_ms = std::max(p.blocked_until_ms, until_ms);
    p.tokens = 0;
  }

  // Records a transport or 5xx failure; returns the time the breaker opens until (0 if closed).
  int64_t NoteFailure(const Channel& channel) {
    std::lock_guard lock(mu);
    ChannelPacer& p = pacers[channel.id];
    if (++p.consecutive_failures >= o.breaker_threshold) {
      p.open_until_ms = clock.NowUnixMillis() + o.breaker_open_ms;
      if (!p.alerted_open) {
        p.alerted_open = true;
        Alert("circuit_open channel=" + channel.id);
      }
      return p.open_until_ms;
    }
    return 0;
  }

  void NoteSuccess(const Channel& channel) {
    std::lock_guard lock(mu);
    ChannelPacer& p = pacers[channel.id];
    p.consecutive_failures = 0;
    p.alerted_open = false;
  }

  int64_t BreakerOpenUntil(const std::string& channel_id) {
    std::lock_guard lock(mu);
    auto it = pacers.find(channel_id);
    return it == pacers.end() ? 0 : it->second.open_until_ms;
  }

  void SlowChannel(const std::string& channel_id, int64_t delay_ms) {
    std::lock_guard lock(mu);
    ChannelPacer& p = pacers[channel_id];
    p.next_us = std::max(p.next_us, SteadyMicros() + delay_ms * 1000);
  }

  // Records the end of dispatching. The message is re-read inside the
  // transaction: a status webhook may have moved it meanwhile (it can
  // arrive before the send's answer), and that progress must not be lost.
  // A failure reaches subscribers of statuses as Meta's failed status
  // would, errors[] included, so an integration's error handling runs for
  // it (the gateway's own refusals too). Sealed before the transaction.
  Result<std::vector<OutboxEntry>> FailureForwards(const MessageRecord& m, const std::string& error_code,
                                                   int provider_code, std::string_view provider_body) {
    std::vector<OutboxEntry> out;
    CS_ASSIGN_OR_RETURN(std::vector<Subscriber> subscribers, store.outbox().ListSubscribers(m.tenant_id));
    subscribers.erase(std::remove_if(subscribers.begin(), subscribers.end(),
                                     [](const Subscriber& sb) {
                                       return std::find(sb.events.begin(), sb.events.end(), "statuses") == sb.events.end();
                                     }),
                      subscribers.end());
    if (subscribers.empty() || m.kind != "message") return out;
    CS_ASSIGN_OR_RETURN(Channel channel, ChannelFor(m.channel_id));
    // The number, for subscribers allowed it: from the body, while it is kept.
    std::string to;
    const bool clear = std::any_of(subscribers.begin(), subscribers.end(),
                                   [](const Subscriber& sb) { return sb.clear_phone_numbers; });
    if (clear && !m.payload_sealed.empty()) {
      Result<SecretString> body = keyring.Open(m.tenant_id, m.payload_sealed, FieldBinding{m.tenant_id, m.subject, m.id, "payload"});
      if (body.ok()) {
        Result<JsonValue> parsed = ParseJson(InsecureSecretAccess::Get(*body));
        const JsonValue* t = parsed.ok() && parsed->is_object() ? parsed->Find("to") : nullptr;
        if (t != nullptr && t->is_string()) {
          for (char c : t->as_string()) {
            if (c >= '0' && c <= '9') to.push_back(c);
          }
        }
      }
    }
    const DispatchFailure failure = MakeDispatchFailure(error_code, provider_code, provider_body);
    const int64_t now = clock.NowUnixMillis();
    for (const Subscriber& sb : subscribers) {
      OutboxEntry e;
      CS_ASSIGN_OR_RETURN(e.id, NewTimeOrderedId(random, "evt", now));
      e.tenant_id = m.tenant_id;
      e.subject = m.subject;
      e.subscriber_id = sb.id;
      e.field = "messages";
      e.waba_id = channel.waba_id;
      e.due_ms = e.created_at_ms = now;
      // Under the subject's key: an erasure shreds it with the rest.
      CS_ASSIGN_OR_RETURN(e.payload_sealed,
                          keyring.Seal(m.tenant_id, ForwardedFailureValue(channel, m, failure, to, now, sb),
                                       FieldBinding{m.tenant_id, e.subject, e.id, "payload"}));
      out.push_back(std::move(e));
    }
    return out;
  }

  Status Finish(MessageRecord& m, const std::string& state, const std::string& error_code, int provider_code,
                const std::string& action, std::string_view provider_body = {}) {
    std::vector<OutboxEntry> forwards;
    if (state == "failed") {
      Result<std::vector<OutboxEntry>> made = FailureForwards(m, error_code, provider_code, provider_body);
      // The failure is recorded whatever happens to its forwarding.
      if (made.ok()) forwards = std::move(made).value();
      else Alert("failure_forward_error " + made.status().machine_code());
    }
    return commits.Run([&](StoreTransaction& tx) -> Status {
      CS_ASSIGN_OR_RETURN(MessageRecord fresh, tx.outbound().FindMessage(m.id));
      fresh.attempts = m.attempts;
      if (fresh.wamid_sealed.empty() && !m.wamid_sealed.empty()) {
        fresh.wamid_hash = m.wamid_hash;
        fresh.wamid_sealed = m.wamid_sealed;
      }
      fresh.updated_at_ms = clock.NowUnixMillis();
      // Dispatching is over: the body (and the number inside it) is not
      // kept once Meta has it or it can never be sent (MIN-01), unless the
      // tenant keeps a conversation history (RET-01: purged after its
      // retention). secure_delete overwrites the freed pages.
      CS_ASSIGN_OR_RETURN(std::optional<HistoryPolicy> history, tx.history().GetHistoryPolicy(fresh.tenant_id));
      if (!history) fresh.payload_sealed.clear();
      // Statuses already received outrank what the send call concluded.
      if (fresh.seen == 0 && (fresh.state == "accepted" || fresh.state == "unknown")) {
        fresh.state = state;
        fresh.error_code = error_code;
        fresh.provider_code = provider_code;
        for (const OutboxEntry& e : forwards) CS_RETURN_IF_ERROR(tx.outbox().InsertOutbox(e));
      }
      CS_RETURN_IF_ERROR(tx.outbound().UpdateMessage(fresh));
      CS_RETURN_IF_ERROR(tx.outbound().DeleteJob(m.id));
      m = fresh;
      if (action.empty()) return Status::Ok();
      AuditEvent e{
          .tenant_id = m.tenant_id,
          .actor = AuditActor::System(),
          .action = action,
          .subject = m.subject,
          .resource = "message:" + m.id,
          .outcome = error_code.empty() ? "success" : error_code
      };
      if (provider_code != 0) {
        JsonWriter w;
        w.BeginObject().Key("provider_code").Int(provider_code).EndObject();
        e.details = w.Take();
      }
      return ledger.Record(tx, e);
    });
  }

  Status Retry(MessageRecord& m, int64_t delay_ms) {
    stats.retried++;
    return commits.Run([&](StoreTransaction& tx) -> Status {
      CS_ASSIGN_OR_RETURN(MessageRecord fresh, tx.outbound().FindMessage(m.id));
      fresh.attempts = m.attempts;
      fresh.updated_at_ms = clock.NowUnixMillis();
      CS_RETURN_IF_ERROR(tx.outbound().UpdateMessage(fresh));
      return tx.outbound().RescheduleJob(m.id, clock.NowUnixMillis() + delay_ms, m.attempts);
    });
  }

  // Transient failures are retried until the message is too old to be
  // worth sending (F-10: the queue holds it until then, losing nothing).
  bool Expired(const MessageRecord& m) const { return clock.NowUnixMillis() - m.created_at_ms >= o.valid_for_ms; }

  int64_t Backoff(int64_t attempts, std::mt19937_64& rng) {
    int64_t cap = std::min<int64_t>(o.backoff_max_ms, o.backoff_base_ms << std::min<int64_t>(attempts, 20));
    // "Full jitter": uniform in [cap/2, cap], so retries spread out without going hot.
    return std::uniform_int_distribution<int64_t>(cap / 2, cap)(rng);
  }

  // A job put back to wait (paused channel, open breaker, pair pacing):
  // written with the rest of its batch's, not in a transaction of its own.
  struct Wait {
    std::string message_id;
    int64_t due_ms = 0;
    int64_t attempts = 0;
  };

  Status FlushWaits(std::vector<Wait>& waits) {
    if (waits.empty()) return Status::Ok();
    Status s = commits.Run([&](StoreTransaction& tx) -> Status {
      for (const Wait& w : waits) CS_RETURN_IF_ERROR(tx.outbound().RescheduleJob(w.message_id, w.due_ms, w.attempts));
      return Status::Ok();
    });
    waits.clear();
    return s;  // on failure, the leases expire and the jobs come back
  }

  // What a gateway id a send refers to stands for at Meta.
  struct Reference {
    std::string wamid;
    bool wait = false;     // the message is not at Meta yet: try again shortly
    std::string failure;   // it never will be, or is gone: the send fails with this code
  };
  Result<Reference> Resolve(const std::string& tenant_id, const std::string& id) {
    Reference out;
    std::string sealed, subject;
    if (id.rfind("msg_", 0) == 0) {
      Result<MessageRecord> target = store.outbound().GetMessage(tenant_id, id);
      if (!target.ok() && target.status().code() != StatusCode::kNotFound) return target.status();
      if (!target.ok()) {
        out.failure = "reference_unavailable";
        return out;
      }
      if (target->wamid_sealed.empty()) {
        if (target->state == "accepted") out.wait = true;
        else out.failure = target->state == "failed" || target->state == "unknown" ? "reference_failed"
                                                                                     : "reference_unavailable";
        return out;
      }
      sealed = target->wamid_sealed;
      subject = target->subject;
    } else if (id.rfind("inm_", 0) == 0) {
      Result<InboundMessageRecord> target = store.inbound().GetInbound(tenant_id, id);
      if (!target.ok() && target.status().code() != StatusCode::kNotFound) return target.status();
      if (!target.ok() || target->wamid_sealed.empty()) {
        out.failure = "reference_unavailable";
        return out;
      }
      sealed = target->wamid_sealed;
      subject = target->subject;
    } else {
      out.failure = "reference_unavailable";  // a keyed hash names nothing the gateway can resolve
      return out;
    }
    Result<SecretString> wamid = keyring.Open(tenant_id, sealed, FieldBinding{tenant_id, subject, id, "wamid"});
    if (!wamid.ok()) {
      if (wamid.status().machine_code() != "subject_erased") return wamid.status();
      out.failure = "reference_unavailable";
      return out;
    }
    out.wamid = std::string(InsecureSecretAccess::Get(*wamid));
    return out;
  }

  void Process(const OutboundJob& job, Provider& provider, std::mt19937_64& rng, std::vector<Wait>& waits) {
    Status s = ProcessOne(job, provider, rng, waits);
    if (!s.ok()) {
      // Storage trouble: the lease expires and the job comes back; a send
      // already made is then found in flight and reported unknown, never resent.
      Alert("dispatch_error " + s.machine_code());
    }
  }

  Status ProcessOne(const OutboundJob& job, Provider& provider, std::mt19937_64& rng, std::vector<Wait>& waits) {
    const int64_t now = clock.NowUnixMillis();
    Result<MessageRecord> loaded = store.outbound().FindMessage(job.message_id);
    if (!loaded.ok()) {
      if (loaded.status().code() == StatusCode::kNotFound) return store.outbound().DeleteJob(job.message_id);
      return loaded.status();
    }
    MessageRecord m = std::move(loaded).value();
    if (m.state != "accepted") return store.outbound().DeleteJob(m.id);
    if (job.was_in_flight) {
      // A worker died between sending and recording the answer: Meta may
      // have the message. Never resend blindly (F-02); a status webhook
      // carrying our tag reconciles it.
      stats.unknown++;
      return Finish(m, "unknown", "outcome_unknown", 0, "message.outcome_unknown");
    }
    if (Expired(m)) {
      // Waiting (a paused channel, an open breaker, pair pacing) does not
      // stretch the age limit: nothing goes out a day late.
      stats.failed++;
      return Finish(m, "failed", "expired", 0, "message.failed");
    }
    CS_ASSIGN_OR_RETURN(Channel channel, ChannelFor(job.channel_id));
    if (!channel.paused_reason.empty()) {
      waits.push_back({m.id, now + 5000, m.attempts});
      return Status::Ok();
    }
    if (int64_t open = BreakerOpenUntil(channel.id); open > now) {
      waits.push_back({m.id, open, m.attempts});
      return Status::Ok();
    }
    if (!m.purpose_id.empty()) {
      // CONS-04: a withdrawal between acceptance and now stops the send.
      CS_ASSIGN_OR_RETURN(bool active, consent.IsActive(m.tenant_id, m.subject, m.purpose_id));
      if (!active) {
        stats.consent_refused++;
        return Finish(m, "failed", "consent_required", 0, "message.refused");
      }
    }
    if (m.kind == "message" && !m.subject.empty()) {
      if (int64_t wait_until = TakePairToken(channel.id, m.subject); wait_until != 0) {
        stats.paced++;
        waits.push_back({m.id, wait_until, m.attempts});
        return Status::Ok();
      }
    }
    CS_ASSIGN_OR_RETURN(SecretString payload,
                        keyring.Open(m.tenant_id, m.payload_sealed, FieldBinding{m.tenant_id, m.subject, m.id, "payload"}));
    CS_ASSIGN_OR_RETURN(std::shared_ptr<const ChannelSecrets> secrets, channels.Secrets(channel));
    // A reply, reaction or read receipt naming a message by the gateway's
    // id goes out with Meta's id for it (provider_ids.h).
    std::string body(InsecureSecretAccess::Get(payload));
    if (body.find("\"msg_") != std::string::npos || body.find("\"inm_") != std::string::npos ||
        body.find("\"wam_") != std::string::npos) {
      CS_ASSIGN_OR_RETURN(JsonValue parsed, ParseJson(body));
      std::map<std::string, std::string> wamids;
      for (const std::string& ref : GatewayReferences(parsed)) {
        CS_ASSIGN_OR_RETURN(Reference r, Resolve(m.tenant_id, ref));
        if (r.wait) {
          // The message it refers to is still on its way to Meta.
          waits.push_back({m.id, now + 1000, m.attempts});
          return Status::Ok();
        }
        if (!r.failure.empty()) {
          stats.failed++;
          return Finish(m, "failed", r.failure, 0, "message.failed");
        }
        wamids[ref] = std::move(r.wamid);
      }
      CS_ASSIGN_OR_RETURN(body, WithWamids(body, wamids));
    }

    // Jobs put back to wait earlier in this batch are written before a send
    // (which may take up to the HTTP timeout): never long enough for their
    // lease to lapse and another worker to take them meanwhile.
    CS_RETURN_IF_ERROR(FlushWaits(waits));
    int64_t at = ReserveSlot(channel);
    int64_t wait = at - SteadyMicros();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::microseconds(wait));
    // The last consent check and the in-flight mark are one step, right
    // before the provider call (CONS-04, D4). The pass keeps a withdrawal
    // of this subject from answering until the call below returned; the
    // stored state read inside the transaction catches a STOP committed by
    // a webhook meanwhile (the store serialises the two).
    std::optional<ConsentService::SendPass> pass;
    if (!m.subject.empty()) pass.emplace(consent.BeginSend(m.tenant_id, m.subject));
    if (!m.purpose_id.empty()) {
      CS_ASSIGN_OR_RETURN(bool active, consent.IsActive(m.tenant_id, m.subject, m.purpose_id));
      if (!active) {
        stats.consent_refused++;
        return Finish(m, "failed", "consent_required", 0, "message.refused");
      }
    }
    // From here on the outcome may be unknown: if this worker dies before
    // recording it, the next one must not send again (F-02).
    Status marked = commits.Run([&](StoreTransaction& tx) -> Status {
      if (!m.purpose_id.empty()) {
        CS_ASSIGN_OR_RETURN(std::optional<ConsentRecord> stored,
                            tx.consents().GetConsent(m.tenant_id, m.subject, m.purpose_id));
        if (!stored || stored->state != "active") return FailedPrecondition("consent_required", "consent ended");
      }
      return tx.outbound().MarkInFlight(m.id);
    });
    // Cancelled while this worker waited (an erasure): it is never sent.
    if (marked.code() == StatusCode::kNotFound) return Status::Ok();
    if (marked.machine_code() == "consent_required") {
      stats.consent_refused++;
      return Finish(m, "failed", "consent_required", 0, "message.refused");
    }
    CS_RETURN_IF_ERROR(marked);

    ProviderEndpoint endpoint{channel.graph_base_url, channel.graph_version, channel.phone_number_id,
                              &secrets->access_token};
    const ProviderAnswer a = provider.Send(endpoint, m.kind, body);
    m.attempts++;

    switch (a.outcome) {
      case ProviderAnswer::Outcome::kUnreachable: {
        // Nothing was sent: retrying cannot duplicate.
        int64_t open = NoteFailure(channel);
        if (Expired(m)) {
          stats.failed++;
          return Finish(m, "failed", "expired", 0, "message.failed");
        }
        return Retry(m, std::max(open - clock.NowUnixMillis(), Backoff(m.attempts, rng)));
      }
      case ProviderAnswer::Outcome::kUnknown:
        stats.unknown++;
        return Finish(m, "unknown", "outcome_unknown", 0, "message.outcome_unknown");
      case ProviderAnswer::Outcome::kAccepted:
        NoteSuccess(channel);
        stats.submitted++;
        if (!a.message_id.empty()) {
          // Never in clear: a keyed hash for status webhooks, a sealed copy
          // for replies (provider_ids.h). A failure here loses only those.
          Result<std::string> hash = keyring.ProviderIdToken(m.tenant_id, a.message_id);
          Result<std::string> sealed =
              keyring.Seal(m.tenant_id, a.message_id, FieldBinding{m.tenant_id, m.subject, m.id, "wamid"});
          if (hash.ok() && sealed.ok()) {
            m.wamid_hash = std::move(hash).value();
            m.wamid_sealed = std::move(sealed).value();
          }
        }
        return Finish(m, "accepted", "", 0, "");
      case ProviderAnswer::Outcome::kRefused:
        break;
    }

    const int code = a.code.value_or(0);
    int64_t retry_after_ms = a.retry_after_ms;
    if (a.server_error) {
      int64_t open = NoteFailure(channel);
      if (open != 0) retry_after_ms = std::max(retry_after_ms, open - clock.NowUnixMillis());
    } else {
      NoteSuccess(channel);
    }

    switch (a.retry) {
      case ProviderRetry::kNever:
        stats.failed++;
        if (code == 368) {
          CS_RETURN_IF_ERROR(channels.SetPaused(AuditActor::System(), channel, "policy_blocked"));
          Alert("channel_paused reason=policy_blocked channel=" + channel.id);
        }
        return Finish(m, "failed", a.code ? FailureCodeFor(code) : "provider_rejected", code, "message.failed",
                      a.detail);
      case ProviderRetry::kPauseChannel:
        // The token is bad: every send would fail the same way (F-15).
        CS_RETURN_IF_ERROR(channels.SetPaused(AuditActor::System(), channel, "token_invalid"));
        Alert("channel_paused reason=token_invalid channel=" + channel.id);
        {
          std::lock_guard lock(mu);
          channels_loaded_ms = 0;  // see the pause at once
        }
        m.attempts--;  // not the message's fault
        return Retry(m, 60000);
      case ProviderRetry::kRetryOnce:
        if (m.attempts >= 2) {
          stats.failed++;
          return Finish(m, "failed", FailureCodeFor(code), code, "message.failed", a.detail);
        }
        return Retry(m, std::max(retry_after_ms, Backoff(m.attempts, rng)));
      case ProviderRetry::kRetryPair: {
        // 131056: back off this recipient only, at least 6 s, growing.
        int64_t delay = std::max<int64_t>(retry_after_ms, 6000LL << std::min<int64_t>(m.attempts - 1, 6));
        BlockPair(channel.id, m.subject, clock.NowUnixMillis() + delay);
        if (Expired(m)) {
          stats.failed++;
          return Finish(m, "failed", "expired", code, "message.failed", a.detail);
        }
        return Retry(m, delay);
      }
      case ProviderRetry::kRetryLong:
      case ProviderRetry::kRetry: {
        if (Expired(m)) {
          stats.failed++;
          return Finish(m, "failed", "expired", code, "message.failed");
        }
        int64_t delay = std::max(retry_after_ms, Backoff(m.attempts, rng));
        if (a.retry == ProviderRetry::kRetryLong) delay = std::max<int64_t>(delay, 60000);
        if (code == 130429) SlowChannel(channel.id, std::max<int64_t>(retry_after_ms, 1000));
        return Retry(m, delay);
      }
    }
    return Status::Ok();
  }

  void WorkerLoop(int index) {
    std::unique_ptr<Provider> provider = o.provider ? o.provider() : whatsapp::CreateCloudApiProvider(o.http_timeout_ms);
    std::mt19937_64 rng(static_cast<uint64_t>(SteadyMicros()) ^ (static_cast<uint64_t>(index) << 40));
    std::vector<Wait> waits;
    while (!stopping.load()) {
      int64_t now = clock.NowUnixMillis();
      Result<std::vector<OutboundJob>> jobs = store.outbound().LeaseJobs(now, now + o.lease_ms, o.batch);
      if (!jobs.ok() || jobs->empty()) {
        if (!jobs.ok()) Alert("dispatch_lease_error " + jobs.status().machine_code());
        std::this_thread::sleep_for(std::chrono::milliseconds(o.idle_poll_ms));
        continue;
      }
      for (const OutboundJob& job : *jobs) {
        if (stopping.load()) {
          // Leased but untouched: hand it back at once.
          store.outbound().RescheduleJob(job.message_id, job.due_ms, job.attempts).IgnoreError();  // lease expiry covers a failure
          continue;
        }
        Process(job, *provider, rng, waits);
      }
      Status flushed = FlushWaits(waits);
      if (!flushed.ok()) Alert("dispatch_error " + flushed.machine_code());
    }
  }
};

Dispatcher::Dispatcher(Store& store, GroupCommitter& commits, TenantKeyring& keyring, ChannelService& channels,
                       const AuditLedger& ledger, const Clock& clock, Random& random, ConsentService& consent,
                       DispatcherOptions options, std::function<void(const std::string&)> alert)
    : impl_(std::make_unique<Impl>(store, commits, consent, keyring, channels, ledger, clock, random, options,
                                   std::move(alert), stats_)) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  if (!impl_->workers.empty()) return;
  impl_->stopping = false;
  for (int i = 0; i < std::max(1, impl_->o.threads); ++i) {
    impl_->workers.emplace_back([this, i] { impl_->WorkerLoop(i); });
  }
}

void Dispatcher::Stop() {
  impl_->stopping = true;
  for (std::thread& t : impl_->workers) {
    if (t.joinable()) t.join();
  }
  impl_->workers.clear();
}

}  // namespace cs
