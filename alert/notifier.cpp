#include "alert/notifier.h"

#include <algorithm>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "alert/evaluator.h"
#include "http/endpoint.h"

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
  metrics_.Describe("argus_alert_notifier_errors_total", http::Metrics::Kind::kCounter, "rounds that failed (redis)");
}

Notifier::~Notifier() = default;

Notifier::Outcome Notifier::Deliver(Pending& p) {
  const Notification& n = p.n;
  const Route& route = RouteFor(config_.route, n.labels);
  const Receiver* receiver = FindReceiver(config_, route.receiver);
  if (!receiver) {
    p.last_error = "no receiver named \"" + route.receiver + "\"";
    return Outcome::kRetry;  // a reload may bring it back
  }
  if (receiver->kind == Receiver::Kind::kLog) {
    spdlog::warn("notification {} [{}] {} on {}: {}", n.key, n.firing ? "firing" : "resolved", n.rule, n.host,
                 n.annotations.count("summary") ? n.annotations.at("summary") : "");
    return Outcome::kDelivered;
  }
  http::Endpoint ep;
  std::string target;
  if (base::Status s = http::ParseUrl(receiver->url, &ep, &target); !s.ok()) {
    p.last_error = s.message();
    return Outcome::kRefused;
  }
  std::string body;
  std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}, {"X-Argus-Key", n.key}};
  if (receiver->kind == Receiver::Kind::kWebhook) {
    body = WebhookBody({n}, receiver->name, GroupLabels(route, n)).dump();
    if (!receiver->secret.empty()) headers["X-Argus-Signature"] = Signature(receiver->secret, body);
  } else {
    body = AlertmanagerBody({n}).dump();
    target = (target == "/" ? "" : target) + "/api/v2/alerts";
  }
  auto& client = clients_[receiver->name];
  if (!client || client->server().ToString() != ep.ToString()) {
    client = std::make_unique<http::Client>(ep, std::chrono::milliseconds(receiver->timeout_ms));
  }
  const http::ClientResponse r = client->Request("POST", target, body, headers);
  if (!r.ok()) {
    p.last_error = receiver->name + ": " + r.error;
    return Outcome::kRetry;
  }
  if (r.status >= 200 && r.status < 300) return Outcome::kDelivered;
  p.last_error = receiver->name + " answered " + std::to_string(r.status) + ": " + r.body.substr(0, 200);
  // A 4xx other than timeout and too-many-requests will not change by retrying.
  const bool permanent = r.status >= 400 && r.status < 500 && r.status != 408 && r.status != 429;
  return permanent ? Outcome::kRefused : Outcome::kRetry;
}

bool Notifier::Finish(Pending& p, Outcome outcome, int64_t now) {
  const std::string receiver = RouteFor(config_.route, p.n.labels).receiver;
  if (outcome == Outcome::kDelivered) {
    if (!p.delivered) {
      p.delivered = true;  // should the XACK fail, the next round only acknowledges
      ++stats_.delivered;
      metrics_.Add("argus_alert_notifications_sent_total", {{"receiver", receiver}});
      if (p.attempts > 0) spdlog::info("notification {} delivered after {} failed attempts", p.n.key, p.attempts);
    }
    if (base::Status s = reader_.Ack(redis_, {p.entry}); !s.ok()) throw std::runtime_error(s.message());
    return false;
  }
  ++stats_.failed;
  metrics_.Add("argus_alert_notifications_failed_total", {{"receiver", receiver}});
  ++p.attempts;
  const bool expired = now - p.n.created_ms >= options_.give_up_after_ms;
  if (outcome == Outcome::kRefused || expired) {
    const std::string why = (expired ? "undelivered after " + std::to_string(options_.give_up_after_ms / 1000) + " s: "
                                     : "refused: ") + p.last_error;
    if (base::Status s = reader_.DeadLetter(redis_, p.entry, why); !s.ok()) throw std::runtime_error(s.message());
    ++stats_.dead_lettered;
    metrics_.Add("argus_alert_notifications_dead_lettered_total", {{"receiver", receiver}});
    spdlog::error("notification {} dead-lettered: {}", p.n.key, why);
    return false;
  }
  // Exponential backoff with jitter, so receivers coming back are not hit by every
  // notifier at once.
  static thread_local std::mt19937 rng{std::random_device{}()};
  const int64_t base = std::min(options_.backoff_max_ms, options_.backoff_min_ms << std::min(p.attempts - 1, 20));
  p.next_ms = now + base / 2 + std::uniform_int_distribution<int64_t>(0, base / 2)(rng);
  if (p.attempts == 1 || p.attempts % 10 == 0) {
    spdlog::warn("notification {}: attempt {} failed ({}); next in {} ms", p.n.key, p.attempts, p.last_error,
                 p.next_ms - now);
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
    if (now >= next_claim_) {
      int64_t claimed = 0;
      if (base::Status s = reader_.ClaimIdle(redis_, std::chrono::milliseconds(options_.claim_idle_ms), &claimed);
          !s.ok()) {
        throw std::runtime_error(s.message());
      }
      if (claimed) spdlog::info("notifier {}: took over {} notifications of a stopped notifier", options_.name, claimed);
      next_claim_ = now + std::max<int64_t>(1000, options_.claim_idle_ms / 4);
    }
    if (pending_.size() < options_.max_in_flight) {
      std::vector<queue::Entry> entries;
      if (base::Status s = reader_.Read(redis_, 500, &entries); !s.ok()) throw std::runtime_error(s.message());
      for (auto& e : entries) {
        if (pending_.count(e.id)) continue;  // our own pending, read again after a claim
        Pending p;
        p.entry = e;
        const auto j = nlohmann::json::parse(e.payload, nullptr, false);
        if (base::Status s = ParseNotification(j, &p.n); !s.ok()) {
          if (base::Status d = reader_.DeadLetter(redis_, e, s.message()); !d.ok()) throw std::runtime_error(d.message());
          ++stats_.dead_lettered;
          metrics_.Add("argus_alert_notifications_dead_lettered_total", {{"receiver", ""}});
          continue;
        }
        pending_.emplace(e.id, std::move(p));
      }
    }
    for (auto it = pending_.begin(); it != pending_.end();) {
      Pending& p = it->second;
      if (p.next_ms > clock_.WallMs()) {
        ++it;
        continue;
      }
      if (p.attempts > 0 && !p.delivered) {
        ++stats_.retried;
        metrics_.Add("argus_alert_notifications_retried_total");
        // Claim our own entry again: its idle time restarts, so no other notifier takes
        // it over while we are still trying.
        redis_.Run({"XCLAIM", p.entry.stream, reader_.group(), options_.name, "0", p.entry.id, "JUSTID"});
      }
      const Outcome outcome = p.delivered ? Outcome::kDelivered : Deliver(p);
      it = Finish(p, outcome, clock_.WallMs()) ? std::next(it) : pending_.erase(it);
    }
    metrics_.Set("argus_alert_notifications_in_flight", {}, static_cast<double>(pending_.size()));
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
