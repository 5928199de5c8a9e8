// Helper for bench/consumer.sh:
//   fill  --redis H:P --events N          append N realistic events of type `bench`
//   wait  --redis H:P                     block until the `bench` backlog is 0; print seconds
//   bare  --db PATH --events N            the limit: the same event rows written by a bare
//                                         prepared INSERT loop, one transaction per 500
#include <chrono>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "http/endpoint.h"
#include "proto/event.h"
#include "queue/redis.h"
#include "queue/streams.h"
#include "store/database.h"

using namespace argus;
using Clock = std::chrono::steady_clock;

namespace {

// Event i: 200 hosts, timestamps over a few hours, six numeric fields and a label.
proto::Event MakeEvent(int64_t i) {
  proto::Event e;
  e.type = "bench";
  e.id = "bench-" + std::to_string(i);
  e.host = "host-" + std::to_string(i % 200);
  e.ts = 1795000000000 + i * 10;
  e.recv_ts = *e.ts + 3;
  e.addr = "10.0.0." + std::to_string(i % 200);
  e.content = "{\"path\":\"/api/orders\",\"status\":" + std::to_string(200 + i % 5) +
              ",\"latency_ms\":" + std::to_string(i % 97) + ".5,\"bytes\":" + std::to_string(1000 + i % 4096) +
              ",\"upstream\":{\"db_ms\":" + std::to_string(i % 13) + ".25,\"cache_ms\":" + std::to_string(i % 7) +
              "},\"retries\":" + std::to_string(i % 3) + ",\"msg\":\"" + std::string(40, 'x') + "\"}";
  return e;
}

queue::RedisOptions RedisAt(const std::string& address) {
  http::Endpoint ep;
  if (base::Status s = http::ParseEndpoint(address, &ep); !s.ok()) throw std::runtime_error("--redis: " + s.message());
  return {ep.host, ep.port, std::chrono::milliseconds(5000)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"consumer benchmark helper"};
  app.require_subcommand(1);
  std::string redis = "127.0.0.1:6379", db_path;
  int64_t events = 1000000;
  auto* fill = app.add_subcommand("fill", "append events to Redis");
  fill->add_option("--redis", redis);
  fill->add_option("--events", events);
  auto* wait = app.add_subcommand("wait", "wait until the backlog is 0");
  wait->add_option("--redis", redis);
  auto* bare = app.add_subcommand("bare", "bare insert loop");
  bare->add_option("--db", db_path)->required();
  bare->add_option("--events", events);
  std::string synchronous = "full";
  bare->add_option("--synchronous", synchronous, "full (what the store uses) or normal (to show what FULL costs)")
      ->check(CLI::IsMember({"full", "normal"}));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  try {
    if (fill->parsed()) {
      queue::Redis r(RedisAt(redis));
      std::vector<proto::Event> batch;
      for (int64_t i = 0; i < events; ++i) {
        batch.push_back(MakeEvent(i));
        if (batch.size() == 1000 || i + 1 == events) {
          if (base::Status s = queue::AppendEvents(r, batch, 4); !s.ok()) throw std::runtime_error(s.message());
          batch.clear();
        }
      }
      std::cout << "filled " << events << " events\n";
    } else if (wait->parsed()) {
      queue::Redis r(RedisAt(redis));
      auto start = Clock::now();
      while (true) {
        // A group that does not exist yet counts the whole stream; an error waits on.
        int64_t backlog = -1;
        if (queue::TypeBacklog(r, "bench", 4, &backlog).ok() && backlog == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      std::cout << std::chrono::duration<double>(Clock::now() - start).count() << "\n";
    } else if (bare->parsed()) {
      // The events table as the store defines it, written with nothing else.
      auto db = store::Database::Open(db_path);
      db->Exec("PRAGMA synchronous=" + synchronous);
      store::Statement insert(*db,
                              "INSERT INTO events(id, type, host, ts, recv_ts, priority, addr, content) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
      std::vector<proto::Event> all;
      all.reserve(static_cast<size_t>(events));
      for (int64_t i = 0; i < events; ++i) all.push_back(MakeEvent(i));
      auto start = Clock::now();
      for (size_t i = 0; i < all.size(); i += 500) {
        store::Transaction tx(*db);
        for (size_t j = i; j < std::min(all.size(), i + 500); ++j) {
          const auto& e = all[j];
          insert.Bind(1, e.id).Bind(2, e.type).Bind(3, e.host).Bind(4, *e.ts).Bind(5, *e.recv_ts);
          insert.Bind(6, proto::PriorityName(e.priority)).Bind(7, e.addr).Bind(8, e.content);
          insert.Run();
        }
        tx.Commit();
      }
      double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      std::cout << static_cast<int64_t>(static_cast<double>(events) / seconds) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "consumer_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
