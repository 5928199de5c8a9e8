// The state machine of one (rule, host): what a round's observation does to its state
// (ok, pending, alarm, insufficient_data), and which notifications that owes. Pure
// logic on plain values, so every rule of `for`, hysteresis, keep_firing_for, repeats
// and "never notify on what we cannot see" is tested without a store or a clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "alert/rules.h"

namespace argus::alert {

enum class State { kOk, kPending, kAlarm, kInsufficient };
const char* StateName(State state);  // "ok", "pending", "alarm", "insufficient_data"
std::optional<State> ParseState(std::string_view name);

// What a round saw for one (rule, host).
struct Observation {
  // False when the round cannot judge: no data, or the type's consumer has not stored
  // up to the evaluation time. `unknown_why` says which.
  bool known = true;
  std::string unknown_why;
  std::optional<double> value;  // threshold: the window's aggregate; absent: seconds unheard
  bool firing = false;          // the rule's condition holds
  bool cleared = true;          // the condition to leave `alarm` holds (hysteresis, resolve)
  std::string why;              // for the history: the value against the threshold, the event
  std::optional<int64_t> match_ms;  // event rules: the newest matching event's time
};

// A (rule, host)'s state and what the evaluator remembers of it between rounds.
struct PairState {
  State state = State::kOk;
  int64_t since_ms = 0;  // in `state` since
  std::optional<double> value;
  int64_t transitions = 0;
  std::optional<int64_t> active_since;   // the condition has held since (pending, `for`)
  std::optional<int64_t> clear_since;    // alarm: the clear condition has held since (keep_firing_for)
  std::optional<int64_t> fired_ms;       // alarm: when it fired (startsAt)
  std::optional<int64_t> notified_ms;    // alarm: the last firing notification (repeats)
  int64_t repeats = 0;                   // repeats sent for this alarm
  std::optional<int64_t> last_match_ms;  // event rules: the newest matching event
  std::optional<bool> condition;         // the condition as last seen (flap counting)
  std::vector<int64_t> flips;            // when it changed, within the flap window
  bool flapping = false;

  // The remembered part, as the store's memo column keeps it.
  nlohmann::json Memo() const;
  void ReadMemo(const nlohmann::json& memo);
  bool operator==(const PairState&) const = default;
};

enum class Notice { kNone, kFiring, kRepeat, kResolved };

// Flap detection (the rules file's "flapping"): a pair whose condition changed
// `changes` times within `window_ms` is flapping. It is held in `alarm` (notified
// once, marked flapping) until its condition has not changed for `stable_for_ms`.
struct FlapPolicy {
  int64_t window_ms = 30 * 60 * 1000;
  int changes = 6;
  int64_t stable_for_ms = 15 * 60 * 1000;
};

struct StepResult {
  PairState next;
  bool transition = false;  // next.state != the previous state
  Notice notice = Notice::kNone;
  std::string why;
  bool started_flapping = false;
};

// One round at `now`. `repeat_ms` (0: never) re-sends a firing alarm that long after
// the last notification. What cannot be seen never notifies: an alarm whose data is
// missing stays an alarm (held, not resolved), and ok or pending become
// insufficient_data.
// With `flap` (nullptr: no flap detection), flapping pairs are held as described there.
StepResult Advance(const Rule& rule, const PairState& prev, const Observation& obs, int64_t now, int64_t repeat_ms,
                   const FlapPolicy* flap = nullptr);

}  // namespace argus::alert
