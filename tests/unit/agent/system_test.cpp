#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <future>

#include "agent/system.h"
#include "tests/support/support.h"

using namespace argus;

namespace {

// A fake procfs. Loopback traffic grows with `rx` (by a million times as much), so a
// sampler that counted it would report a different rate. The mounts list one real
// folder twice, as a bind mount does (same device), and pseudo filesystems.
void WriteProc(const testing::TempDir& dir, uint64_t busy, uint64_t idle, uint64_t rx, uint64_t tx) {
  std::filesystem::create_directories(dir / "net");
  std::filesystem::create_directories(dir / "self");
  std::filesystem::create_directories(dir / "data");
  std::filesystem::create_directories(dir / "data/bound");
  // user nice system idle iowait irq softirq steal
  testing::WriteFile(dir / "stat", "cpu  " + std::to_string(busy) + " 0 0 " + std::to_string(idle) +
                                       " 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\nintr 5\n");
  testing::WriteFile(dir / "net/dev",
                     "Inter-|   Receive |  Transmit\n face |bytes packets ...\n"
                     "    lo: " + std::to_string(1000000 * rx) + " 99 0 0 0 0 0 0 " + std::to_string(1000000 * rx) +
                         " 99 0 0 0 0 0 0\n"
                     "  eth0: " + std::to_string(rx) + " 10 0 0 0 0 0 0 " + std::to_string(tx) + " 5 0 0 0 0 0 0\n");
  testing::WriteFile(dir / "meminfo", "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\n");
  testing::WriteFile(dir / "loadavg", "0.50 0.40 0.30 1/100 4242\n");
  testing::WriteFile(dir / "self/mounts",
                     "proc /proc proc rw 0 0\n/dev/sdz1 " + (dir / "data") + " ext4 rw 0 0\n/dev/sdz1 " +
                         (dir / "data/bound") + " ext4 rw 0 0\ntmpfs /run tmpfs rw 0 0\n");
}

}  // namespace

TEST_SUITE("agent::system") {
  TEST_CASE("cpu and network rates over the interval, memory, load and real filesystems only") {
    testing::TempDir dir;
    WriteProc(dir, 100, 900, 1000, 500);
    base::ManualClock clock;
    agent::SystemSampler sampler(dir.path(), nullptr, std::chrono::seconds(5), clock);
    CHECK(!sampler.Sample(60));  // the baseline
    WriteProc(dir, 175, 925, 1000 + 4000, 500);
    clock.Advance(std::chrono::seconds(2));
    auto s = sampler.Sample(60);
    REQUIRE(s);
    CHECK((*s)["interval_s"] == 60);
    CHECK((*s)["cpu"]["pct"] == 75.0);  // 75 busy of 100 ticks
    CHECK((*s)["cpu"]["cores"] == 2);
    CHECK((*s)["mem"]["total_bytes"] == 1024000);
    CHECK((*s)["mem"]["used_bytes"] == 768000);
    CHECK((*s)["mem"]["pct"] == 75.0);
    CHECK((*s)["load"]["15m"] == 0.3);
    CHECK((*s)["net"]["rx_bytes_s"] == 2000.0);  // eth0's 4000 bytes over 2 s; loopback left out
    CHECK((*s)["net"]["tx_bytes_s"] == 0.0);
    CHECK((*s)["net"]["rx_packets_s"] == 0.0);
    // The folder once (its bind mount is the same filesystem), no proc or tmpfs.
    CHECK((*s)["disk"].size() == 1);
    CHECK((*s)["disk"].contains(dir / "data"));
    CHECK((*s)["disk"][dir / "data"]["total_bytes"].get<uint64_t>() > 0);
  }

  TEST_CASE("a disk read that hangs costs its sample the disks, never the sample itself") {
    testing::TempDir dir;
    WriteProc(dir, 100, 100, 0, 0);
    std::promise<void> unblock;
    auto released = unblock.get_future().share();
    std::atomic<int> reads{0};
    agent::SystemSampler sampler(
        dir.path(),
        [&] {
          if (++reads == 1) released.wait();  // the first read hangs, as statvfs on a dead NFS mount
          return nlohmann::json{{"/", {{"pct", 1}}}};
        },
        std::chrono::milliseconds(100));
    sampler.Sample(0);  // baseline (reads nothing of the disks)
    auto a = sampler.Sample(60);
    REQUIRE(a);
    CHECK_FALSE(a->contains("disk"));
    CHECK(a->contains("cpu"));
    CHECK(sampler.disk_timeouts() == 1);
    auto b = sampler.Sample(60);  // still hanging: no second read behind it
    REQUIRE(b);
    CHECK_FALSE(b->contains("disk"));
    CHECK(reads == 1);
    unblock.set_value();
    REQUIRE(testing::WaitFor([&] { return sampler.Sample(60)->contains("disk"); }, std::chrono::seconds(10)));
    CHECK(reads >= 2);
  }
}
