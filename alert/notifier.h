// The notify role of argus-alert: reads the notification stream through a consumer
// group, routes each notification to its receiver, groups those of one route group
// that arrive within its group_wait into one call, drops silenced ones, and
// acknowledges a notification only once the receiver took it (2xx). Failures are retried with exponential backoff; a
// notification still undelivered after `give_up_after` goes to the dead-letter stream.
// Receivers get the notification's stable key as X-Argus-Key, so a retry after a lost
// answer is recognisable.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "alert/notice.h"
#include "alert/route.h"
#include "alert/silence.h"
#include "base/clock.h"
#include "http/client.h"
#include "http/metrics.h"
#include "queue/redis.h"
#include "queue/streams.h"
#include "store/database.h"

namespace argus::alert {

inline constexpr std::string_view kNotifierGroup = "argus:{alert}:notifiers";
inline constexpr std::string_view kDeadNotifications = "argus:{alert}:dead";

// The notification stream as the pipeline view shows it.
struct NotificationQueue {
  int64_t length = 0, unread = 0, pending = 0, dead_letters = 0;
};
base::Status ReadNotificationQueue(queue::Redis& redis, NotificationQueue* out);

struct NotifierOptions {
  queue::RedisOptions redis;
  std::string name;  // this notifier in the group; stable across restarts
  std::string rules_path;  // its receivers and route, read again on each reload
  std::string db_path;     // the store, for the silences
  int64_t silences_every_ms = 1000;  // how often the active silences are read again
  int64_t give_up_after_ms = 3600 * 1000;  // then the notification is dead-lettered
  int64_t backoff_min_ms = 1000, backoff_max_ms = 30000;
  // Entries another notifier has held this long unacknowledged are taken over (it
  // died); more than the longest backoff, since a live notifier re-claims its own
  // before each retry.
  int64_t claim_idle_ms = 60000;
  size_t max_in_flight = 10000;
};

struct NotifierStats {
  uint64_t delivered = 0, failed = 0, retried = 0, dead_lettered = 0, silenced = 0;
  uint64_t calls = 0;  // receiver calls that succeeded (a group is one call)
};

class Notifier {
 public:
  Notifier(NotifierOptions options, AlertConfig config, const base::Clock& clock = base::SystemClock());
  ~Notifier();
  // One round: read new (and taken-over) notifications, deliver the due ones.
  void RunOnce();
  // Rounds until `stop`; when `reloads` changes (SIGHUP), reads the rules file again.
  void Run(const std::atomic<bool>& stop, const std::atomic<int>& reloads);

  http::Metrics& metrics() { return metrics_; }
  bool healthy() const { return consecutive_errors_.load() == 0; }
  const NotifierStats& stats() const { return stats_; }
  size_t in_flight() const { return held_.size(); }

 private:
  struct Item {
    queue::Entry entry;
    Notification n;
  };
  // Notifications of one route group for one receiver, sent in one call.
  struct Batch {
    std::string receiver, group_key;
    std::map<std::string, std::string> group_labels;
    int64_t repeat_interval_ms = 0;  // the route's: an Alertmanager alert's lifetime
    std::vector<Item> items;
    int64_t send_at = 0;  // end of the group wait
    bool sealed = false;  // tried once: nothing joins any more (a retry sends the same)
    int attempts = 0;
    int64_t next_ms = 0;
    std::string last_error;
    bool delivered = false;  // the receiver took it; only the XACK is left
  };
  enum class Outcome { kDelivered, kRetry, kRefused };
  void Add(queue::Entry entry, int64_t now);
  Outcome Deliver(Batch& b);
  // Acknowledges, dead-letters or schedules the retry; true when it stays pending.
  bool Finish(Batch& b, Outcome outcome, int64_t now);
  void Ack(const std::vector<Item>& items);
  void RefreshSilences(int64_t now);

  NotifierOptions options_;
  AlertConfig config_;
  const base::Clock& clock_;
  queue::Redis redis_;
  queue::GroupReader reader_;
  bool group_ready_ = false;
  std::list<Batch> batches_;
  std::set<std::string> held_;  // stream ids in batches: read, not yet acknowledged
  std::unique_ptr<store::Database> db_;
  std::vector<Silence> silences_;
  int64_t next_silences_ = 0;
  std::map<std::string, std::unique_ptr<http::Client>> clients_;  // by receiver
  int64_t next_claim_ = 0;
  http::Metrics metrics_;
  NotifierStats stats_;
  std::atomic<int> consecutive_errors_{0};
};

}  // namespace argus::alert
