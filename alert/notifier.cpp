#include "alert/notifier.h"

#include <algorithm>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "http/endpoint.h"
#include "store/alerts.h"

namespace argus::alert {
namespace {

// The route's group labels as the webhook's groupLabels: "rule" and "host" name the
// notification's own; anything else is one of its labels.
std::map<std::string, std::string> GroupLabels(const Route& route, const Notification& n) {
  std::map<std::string, std::string> out;
  for (const std::string& k : route.group_by) {
    if (k == "rule") {
      out[k] = n.rule;
    } else if (k == "host") {
      out[k] = n.host;
    } else if (auto it = n.labels.find(k); it != n.labels.end()) {
      out[k] = it->second;
    }
  }
  return out;
}

}  // namespace

base::Status ReadNotificationQueue(queue::Redis& redis, NotificationQueue* out) {
  std::vector<queue::ShardState> states;
  if (base::Status s = queue::ReadStreams(redis, {std::string(kNotificationStream)}, std::string(kNotifierGroup), &states);
      !s.ok()) {
    return s;
  }
  auto dead = redis.Run({"XLEN", std::string(kDeadNotifications)});
  if (!dead.ok()) return base::Status::Unavailable(dead.error);
  NotificationQueue q;
  q.length = states[0].length;
  q.unread = states[0].has_group ? states[0].unread : states[0].length;
  q.pending = states[0].pending;
  q.dead_letters = dead.integer();
  *out = q;
  return {};
}

Notifier::Notifier(NotifierOptions options, AlertConfig config, const base::Clock& clock)
    : options_(std::move(options)),
      config_(std::move(config)),
      clock_(clock),
      redis_(options_.redis),
      reader_(std::string(kNotificationStream), std::string(kNotifierGroup), std::string(kDeadNotifications),
              options_.name) {
  metrics_.Describe("argus_alert_notifications_sent_total", http::Metrics::Kind::kCounter, "notifications a receiver accepted");
  metrics_.Describe("argus_alert_notifications_failed_total", http::Metrics::Kind::kCounter,
                    "delivery attempts that failed (refused, error status, no answer)");
  metrics_.Describe("argus_alert_notifications_retried_total", http::Metrics::Kind::kCounter, "delivery attempts after a failure");
  metrics_.Describe("argus_alert_notifications_dead_lettered_total", http::Metrics::Kind::kCounter,
                    "notifications given up on and moved to the dead-letter stream");
  metrics_.Describe("argus_alert_notifications_in_flight", http::Metrics::Kind::kGauge, "read and not yet acknowledged");
  metrics_.Describe("argus_alert_notifications_silenced_total", http::Metrics::Kind::kCounter,
                    "notifications acknowledged unsent because a silence matched them");
  metrics_.Describe("argus_alert_notifier_errors_total", http::Metrics::Kind::kCounter, "rounds that failed (redis)");
}

Notifier::~Notifier() = default;

void Notifier::RefreshSilences(int64_t now) {
  if (options_.db_path.empty() || now < next_silences_) return;
  if (!db_) db_ = store::Database::Open(options_.db_path);
  std::vector<Silence> active;
  for (const auto& row : store::AlertStore(*db_).Silences(now, 0, 100000)) active.push_back(FromRow(row));
  silences_ = std::move(active);
  next_silences_ = now + options_.silences_every_ms;
}

void Notifier::Add(queue::Entry entry, int64_t now) {
  Item item{std::move(entry), {}};
  const auto j = nlohmann::json::parse(item.entry.payload, nullptr, false);
  if (base::Status s = ParseNotification(j, &item.n); !s.ok()) {
    if (base::Status d = reader_.DeadLetter(redis_, item.entry, s.message()); !d.ok()) throw std::runtime_error(d.message());
    ++stats_.dead_lettered;
    metrics_.Add("argus_alert_notifications_dead_lettered_total", {{"receiver", ""}});
    return;
  }
  const Route& route = RouteFor(config_.route, item.n.labels);
  const auto group_labels = GroupLabels(route, item.n);
  const std::string group_key = route.receiver + "\x1f" + nlohmann::json(group_labels).dump();
  held_.insert(item.entry.id);
  for (Batch& b : batches_) {
    if (!b.sealed && b.group_key == group_key) {
      b.items.push_back(std::move(item));
      return;
    }
  }
  Batch b;
  b.receiver = route.receiver;
  b.group_key = group_key;
  b.group_labels = group_labels;
  b.repeat_interval_ms = route.repeat_interval_ms;
  b.send_at = now + route.group_wait_ms;
  b.items.push_back(std::move(item));
  batches_.push_back(std::move(b));
}

Notifier::Outcome Notifier::Deliver(Batch& b) {
  const Receiver* receiver = FindReceiver(config_, b.receiver);
  if (!receiver) {
    b.last_error = "no receiver named \"" + b.receiver + "\"";
    return Outcome::kRetry;  // a reload may bring it back
  }
  std::vector<Notification> group;
  for (const Item& i : b.items) group.push_back(i.n);
  if (receiver->kind == Receiver::Kind::kLog) {
    for (const Notification& n : group) {
      spdlog::warn("notification {} [{}] {} on {}: {}", n.key, n.firing ? "firing" : "resolved", n.rule, n.host,
                   n.annotations.count("summary") ? n.annotations.at("summary") : "");
    }
    return Outcome::kDelivered;
  }
  http::Endpoint ep;
  std::string target;
  if (base::Status s = http::ParseUrl(receiver->url, &ep, &target); !s.ok()) {
    b.last_error = s.message();
    return Outcome::kRefused;
  }
  // One notification: its own key. A group: a key made of its members' keys, the same
  // on every retry of the group.
  std::string key = group.front().key;
  if (group.size() > 1) {
    std::vector<std::string> keys;
    for (const Notification& n : group) keys.push_back(n.key);
    std::sort(keys.begin(), keys.end());
    key = "group/" + std::to_string(keys.size()) + "/" + Fingerprint({{"keys", nlohmann::json(keys).dump()}});
  }
  std::string body;
  std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}, {"X-Argus-Key", key}};
  if (receiver->kind == Receiver::Kind::kWebhook) {
    body = WebhookBody(group, receiver->name, b.group_labels).dump();
    if (!receiver->secret.empty()) headers["X-Argus-Signature"] = Signature(receiver->secret, body);
  } else {
    // Twice the repeat interval: a repeat renews it well before it runs out, and should
    // every evaluator stop, Alertmanager ends it by itself.
    body = AlertmanagerBody(group, 2 * b.repeat_interval_ms).dump();
    target = (target == "/" ? "" : target) + "/api/v2/alerts";
  }
  auto& client = clients_[receiver->name];
  if (!client || client->server().ToString() != ep.ToString()) {
    client = std::make_unique<http::Client>(ep, std::chrono::milliseconds(receiver->timeout_ms));
  }
  const http::ClientResponse r = client->Request("POST", target, body, headers);
  if (!r.ok()) {
    b.last_error = receiver->name + ": " + r.error;
    return Outcome::kRetry;
  }
  if (r.status >= 200 && r.status < 300) return Outcome::kDelivered;
  b.last_error = receiver->name + " answered " + std::to_string(r.status) + ": " + r.body.substr(0, 200);
  // A 4xx other than timeout and too-many-requests will not change by retrying.
  const bool permanent = r.status >= 400 && r.status < 500 && r.status != 408 && r.status != 429;
  return permanent ? Outcome::kRefused : Outcome::kRetry;
}

void Notifier::Ack(const std::vector<Item>& items) {
  std::vector<queue::Entry> entries;
  for (const Item& i : items) entries.push_back(i.entry);
  if (base::Status s = reader_.Ack(redis_, entries); !s.ok()) throw std::runtime_error(s.message());
  for (const Item& i : items) held_.erase(i.entry.id);
}

bool Notifier::Finish(Batch& b, Outcome outcome, int64_t now) {
  const double n = static_cast<double>(b.items.size());
  if (outcome == Outcome::kDelivered) {
    if (!b.delivered) {
      b.delivered = true;  // should the XACK fail, the next round only acknowledges
      stats_.delivered += b.items.size();
      ++stats_.calls;
      metrics_.Add("argus_alert_notifications_sent_total", {{"receiver", b.receiver}}, n);
      if (b.attempts > 0) spdlog::info("{} notifications delivered after {} failed attempts", b.items.size(), b.attempts);
    }
    Ack(b.items);
    return false;
  }
  ++stats_.failed;
  metrics_.Add("argus_alert_notifications_failed_total", {{"receiver", b.receiver}});
  ++b.attempts;
  int64_t oldest = now;
  for (const Item& i : b.items) oldest = std::min(oldest, i.n.created_ms);
  const bool expired = now - oldest >= options_.give_up_after_ms;
  if (outcome == Outcome::kRefused || expired) {
    const std::string why = (expired ? "undelivered after " + std::to_string(options_.give_up_after_ms / 1000) + " s: "
                                     : "refused: ") + b.last_error;
    for (const Item& i : b.items) {
      if (base::Status s = reader_.DeadLetter(redis_, i.entry, why); !s.ok()) throw std::runtime_error(s.message());
      held_.erase(i.entry.id);
      spdlog::error("notification {} dead-lettered: {}", i.n.key, why);
    }
    stats_.dead_lettered += b.items.size();
    metrics_.Add("argus_alert_notifications_dead_lettered_total", {{"receiver", b.receiver}}, n);
    return false;
  }
  // Exponential backoff with jitter, so receivers coming back are not hit by every
  // notifier at once.
  static thread_local std::mt19937 rng{std::random_device{}()};
  const int64_t base = std::min(options_.backoff_max_ms, options_.backoff_min_ms << std::min(b.attempts - 1, 20));
  b.next_ms = now + base / 2 + std::uniform_int_distribution<int64_t>(0, base / 2)(rng);
  if (b.attempts == 1 || b.attempts % 10 == 0) {
    spdlog::warn("notification {}{}: attempt {} failed ({}); next in {} ms", b.items.front().n.key,
                 b.items.size() > 1 ? " and " + std::to_string(b.items.size() - 1) + " more" : "", b.attempts,
                 b.last_error, b.next_ms - now);
  }
  return true;
}

void Notifier::RunOnce() {
  const int64_t now = clock_.WallMs();
  try {
    if (!group_ready_) {
      if (base::Status s = reader_.EnsureGroups(redis_); !s.ok()) throw std::runtime_error(s.message());
      group_ready_ = true;
    }
    RefreshSilences(now);
    if (now >= next_claim_) {
      int64_t claimed = 0;
      if (base::Status s = reader_.ClaimIdle(redis_, std::chrono::milliseconds(options_.claim_idle_ms), &claimed);
          !s.ok()) {
        throw std::runtime_error(s.message());
      }
      if (claimed) spdlog::info("notifier {}: took over {} notifications of a stopped notifier", options_.name, claimed);
      next_claim_ = now + std::max<int64_t>(1000, options_.claim_idle_ms / 4);
    }
    if (held_.size() < options_.max_in_flight) {
      std::vector<queue::Entry> entries;
      if (base::Status s = reader_.Read(redis_, 500, &entries); !s.ok()) throw std::runtime_error(s.message());
      for (auto& e : entries) {
        if (!held_.count(e.id)) Add(std::move(e), now);  // else our own pending, read again after a claim
      }
    }
    for (auto it = batches_.begin(); it != batches_.end();) {
      Batch& b = *it;
      const int64_t t = clock_.WallMs();
      if (b.send_at > t || b.next_ms > t) {
        ++it;
        continue;
      }
      if (!b.delivered) {
        // Silenced ones are acknowledged unsent; a silence made during the wait counts.
        std::vector<Item> kept, silenced;
        for (Item& i : b.items) {
          const Silence* by = SilencedBy(i.n.labels, silences_);
          if (by) spdlog::info("notification {} silenced by silence {}", i.n.key, by->id);
          (by ? silenced : kept).push_back(std::move(i));
        }
        b.items = std::move(kept);
        if (!silenced.empty()) {
          Ack(silenced);
          stats_.silenced += silenced.size();
          metrics_.Add("argus_alert_notifications_silenced_total", {{"receiver", b.receiver}},
                       static_cast<double>(silenced.size()));
        }
        if (b.items.empty()) {
          it = batches_.erase(it);
          continue;
        }
      }
      b.sealed = true;
      if (b.attempts > 0 && !b.delivered) {
        ++stats_.retried;
        metrics_.Add("argus_alert_notifications_retried_total");
        // Claim our own entries again: their idle time restarts, so no other notifier
        // takes them over while we are still trying.
        queue::Command claim{"XCLAIM", std::string(kNotificationStream), reader_.group(), options_.name, "0"};
        for (const Item& i : b.items) claim.push_back(i.entry.id);
        claim.push_back("JUSTID");
        redis_.Run(claim);
      }
      const Outcome outcome = b.delivered ? Outcome::kDelivered : Deliver(b);
      it = Finish(b, outcome, clock_.WallMs()) ? std::next(it) : batches_.erase(it);
    }
    metrics_.Set("argus_alert_notifications_in_flight", {}, static_cast<double>(held_.size()));
    consecutive_errors_.store(0);
  } catch (const std::exception& e) {
    metrics_.Add("argus_alert_notifier_errors_total");
    if (consecutive_errors_.fetch_add(1) == 0) spdlog::error("notifier {}: round failed: {}", options_.name, e.what());
  }
}

void Notifier::Run(const std::atomic<bool>& stop, const std::atomic<int>& reloads) {
  int seen = reloads.load();
  while (!stop.load()) {
    if (const int now = reloads.load(); now != seen && !options_.rules_path.empty()) {
      seen = now;
      AlertConfig config;
      if (base::Status s = LoadConfig(options_.rules_path, &config); !s.ok()) {
        spdlog::error("notifier: reload refused, the old receivers stay: {}", s.message());
      } else {
        config_ = std::move(config);
        spdlog::info("notifier: {} receivers from {}", config_.receivers.size(), options_.rules_path);
      }
    }
    RunOnce();
    const int pause = consecutive_errors_.load() ? 1000 : 100;
    for (int slept = 0; slept < pause && !stop.load(); slept += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

}  // namespace argus::alert
