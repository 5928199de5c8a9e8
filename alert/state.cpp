#include "alert/state.h"

namespace argus::alert {
namespace {

constexpr const char* kStates[] = {"ok", "pending", "alarm", "insufficient_data"};

void Put(nlohmann::json& j, const char* key, const std::optional<int64_t>& v) {
  if (v) j[key] = *v;
}

std::optional<int64_t> Get(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

}  // namespace

const char* StateName(State state) { return kStates[static_cast<size_t>(state)]; }

std::optional<State> ParseState(std::string_view name) {
  for (size_t i = 0; i < std::size(kStates); ++i) {
    if (name == kStates[i]) return static_cast<State>(i);
  }
  return std::nullopt;
}

nlohmann::json PairState::Memo() const {
  nlohmann::json j = nlohmann::json::object();
  Put(j, "active_since", active_since);
  Put(j, "clear_since", clear_since);
  Put(j, "fired", fired_ms);
  Put(j, "notified", notified_ms);
  if (repeats) j["repeats"] = repeats;
  Put(j, "last_match", last_match_ms);
  if (condition) j["cond"] = *condition;
  if (!flips.empty()) j["flips"] = flips;
  if (flapping) j["flapping"] = true;
  return j;
}

void PairState::ReadMemo(const nlohmann::json& memo) {
  active_since = Get(memo, "active_since");
  clear_since = Get(memo, "clear_since");
  fired_ms = Get(memo, "fired");
  notified_ms = Get(memo, "notified");
  repeats = Get(memo, "repeats").value_or(0);
  last_match_ms = Get(memo, "last_match");
  condition.reset();
  if (auto it = memo.find("cond"); it != memo.end() && it->is_boolean()) condition = it->get<bool>();
  flips.clear();
  if (auto it = memo.find("flips"); it != memo.end() && it->is_array()) {
    for (const auto& f : *it) {
      if (f.is_number_integer()) flips.push_back(f.get<int64_t>());
    }
  }
  flapping = memo.value("flapping", false);
}

StepResult Advance(const Rule& rule, const PairState& prev, const Observation& obs, int64_t now, int64_t repeat_ms,
                   const FlapPolicy* flap) {
  StepResult r{prev, false, Notice::kNone, obs.why};
  PairState& n = r.next;
  auto move_to = [&](State s) {
    n.state = s;
    n.since_ms = now;
    ++n.transitions;
    r.transition = true;
  };
  auto fire = [&] {
    move_to(State::kAlarm);
    n.active_since.reset();
    n.clear_since.reset();
    n.fired_ms = now;
    n.notified_ms = now;
    n.repeats = 0;
    r.notice = Notice::kFiring;
  };

  if (obs.known && obs.match_ms) n.last_match_ms = obs.match_ms;
  if (flap && obs.known) {
    if (n.condition && *n.condition != obs.firing) n.flips.push_back(now);
    n.condition = obs.firing;
    std::erase_if(n.flips, [&](int64_t t) { return t <= now - flap->window_ms; });
    // Only the newest `changes` are ever needed: to count up to the limit, and the last
    // one for stable_for. The memo stays small however fast a pair flaps.
    if (n.flips.size() > static_cast<size_t>(flap->changes)) {
      n.flips.erase(n.flips.begin(), n.flips.end() - flap->changes);
    }
    if (!n.flapping && static_cast<int>(n.flips.size()) >= flap->changes) {
      n.flapping = true;
      r.started_flapping = true;
      n.value = obs.value;
      r.why = "flapping: " + std::to_string(n.flips.size()) + " changes within " +
              std::to_string(flap->window_ms / 1000) + " s; " + obs.why;
      // Held in alarm, and told once: a pair already in alarm has been told.
      if (prev.state != State::kAlarm) fire();
      return r;
    }
    if (n.flapping) {
      n.value = obs.value;
      const int64_t last_flip = n.flips.empty() ? INT64_MIN : n.flips.back();
      if (last_flip != INT64_MIN && now - last_flip < flap->stable_for_ms) {
        r.why = "flapping; held in alarm until stable for " + std::to_string(flap->stable_for_ms / 1000) + " s";
        return r;
      }
      n.flapping = false;  // stable: judged as usual from here
      n.flips.clear();
    }
  } else if (!flap) {
    n.flips.clear();
    n.flapping = false;
    n.condition.reset();
  }

  if (!obs.known) {
    r.why = obs.unknown_why;
    // An alarm is held: nothing seen says it is over, and a recovery notice for what
    // we merely cannot see would be a false one.
    if (prev.state == State::kAlarm) return r;
    n.active_since.reset();
    n.value.reset();
    if (prev.state != State::kInsufficient) move_to(State::kInsufficient);
    return r;
  }
  n.value = obs.value;

  if (prev.state != State::kAlarm) {
    if (!obs.firing) {
      n.active_since.reset();
      if (prev.state != State::kOk) move_to(State::kOk);
      return r;
    }
    if (!n.active_since) n.active_since = now;
    // `for` is how long a threshold must hold; an event fires at once, and an absent
    // rule's `for` is already the silence it waited for.
    const int64_t hold = rule.kind == Kind::kThreshold ? rule.for_ms : 0;
    if (now - *n.active_since >= hold) {
      fire();
    } else if (prev.state != State::kPending) {
      move_to(State::kPending);
    }
    return r;
  }

  // In alarm: leave once the clear condition has held for keep_firing_for.
  if (obs.cleared) {
    if (!n.clear_since) n.clear_since = now;
    if (now - *n.clear_since >= rule.keep_firing_for_ms) {
      move_to(State::kOk);
      n.clear_since.reset();
      n.notified_ms.reset();
      r.notice = Notice::kResolved;
      return r;
    }
  } else {
    n.clear_since.reset();
  }
  if (repeat_ms > 0 && n.notified_ms && now - *n.notified_ms >= repeat_ms) {
    n.notified_ms = now;
    ++n.repeats;
    r.notice = Notice::kRepeat;
  }
  return r;
}

}  // namespace argus::alert
