// pvkit host platform: HostEventPlatform — the EventPlatform for host tests and benchmarks.
//
// What it is: hypervisor pages from a counting HeapPageAllocator; "guest frames" that tests
// create per domain (zeroed host pages named by (owner DomId, Gfn)), mapped only for their
// owner and counted so tests can assert teardown unmapped everything; kicks recorded per
// (domain, vCPU), and test threads acting as vCPUs can block until kicked (wait_for_kick:
// halt polling first — 20 us by default, set_halt_poll — then a futex on that vCPU's own kick
// counter, so a kick wakes only its vCPU and takes no lock);
// a PIRQ permission table. Linux only (futex).
//
// How to use it:
//   HostEventPlatform plat;
//   auto* cb = plat.add_guest_frame(DomId{1}, Gfn{0x100});   // test writes/reads it as the guest
//   plat.permit_pirq(DomId{0}, 5);
//   EventChannels<HostEventPlatform, 8> ev{plat};
//   ... EXPECT_EQ(plat.kicks(DomId{1}, VcpuId{0}), 1u); EXPECT_EQ(plat.mapped_frames(), 0);
//
// Concurrency: add_guest_frame/permit_pirq before threads start; everything else thread-safe.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/event/event_platform.h"
#include "pvkit/platforms/host/heap_page_allocator.h"

namespace pvkit::host {

/// The host EventPlatform for tests: heap pages, simulated guest frames, counted kicks with waiters, a PIRQ allow-list.
class HostEventPlatform {
 public:
  static constexpr std::uint32_t kMaxDomains = 64;
  static constexpr std::uint32_t kMaxVcpus = 32;

  HostEventPlatform() = default;
  HostEventPlatform(const HostEventPlatform&) = delete;
  HostEventPlatform& operator=(const HostEventPlatform&) = delete;
  ~HostEventPlatform() {
    for (auto& [k, f] : frames_) std::free(f.page);
  }

  // PageAllocator
  void* alloc_page() { return alloc_.alloc_page(); }
  /// Returns a page to the heap allocator.
  void free_page(void* p) { alloc_.free_page(p); }
  /// The underlying allocator (tests set limits and count live pages).
  HeapPageAllocator& allocator() { return alloc_; }

  /// Creates a zeroed guest frame owned by `owner`; returns its host address.
  std::uint8_t* add_guest_frame(DomId owner, Gfn gfn) {
    std::lock_guard<std::mutex> g(mu_);
    auto& f = frames_[{owner.value(), gfn.value()}];
    if (f.page == nullptr) {
      f.page = static_cast<std::uint8_t*>(std::aligned_alloc(4096, 4096));
      std::memset(f.page, 0, 4096);
    }
    return f.page;
  }
  /// A guest frame (created on first use) viewed as a T.
  template <typename T>
  T* guest_frame_as(DomId owner, Gfn gfn) {
    return reinterpret_cast<T*>(add_guest_frame(owner, gfn));
  }

  /// EventPlatform: the host address of a frame added for `d` (Errno::Inval for any other), counted as mapped.
  Result<void*> map_guest_frame(DomId d, Gfn gfn) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = frames_.find({d.value(), gfn.value()});
    if (it == frames_.end()) return Errno::Inval;  // not this domain's frame
    ++it->second.maps;
    ++mapped_;
    return static_cast<void*>(it->second.page);
  }
  /// EventPlatform: drops a mapping made by map_guest_frame (a bad unmap is counted).
  void unmap_guest_frame(DomId d, void* page) {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [k, f] : frames_) {
      if (f.page == page && k.first == d.value() && f.maps > 0) {
        --f.maps;
        --mapped_;
        return;
      }
    }
    ++bad_unmaps_;
  }
  /// Mappings currently held by the event code (0 after teardown).
  [[nodiscard]] std::int64_t mapped_frames() {
    std::lock_guard<std::mutex> g(mu_);
    return mapped_;
  }
  /// unmap_guest_frame calls that matched no mapping (must stay 0).
  [[nodiscard]] std::int64_t bad_unmaps() {
    std::lock_guard<std::mutex> g(mu_);
    return bad_unmaps_;
  }

  /// EventPlatform: counts the kick and wakes the thread waiting for that vCPU, if any.
  void kick(DomId d, VcpuId v) {
    // One locked increment per kick (this is on every event delivery's path): the total is
    // summed when asked for, not counted separately.
    if (d.value() < kMaxDomains && v.value() < kMaxVcpus) [[likely]] {
      auto& k = kicks_[d.value()][v.value()];
      k.fetch_add(1, std::memory_order_seq_cst);
      // Dekker with wait_for_kick: the increment above, then the sleeper count (both seq_cst);
      // the waiter does the opposite, so one of the two sees the other.
      if (sleepers_[d.value()][v.value()].load(std::memory_order_seq_cst) != 0) {
        futex(low_word(k), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr);
      }
    } else {
      other_kicks_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  /// Blocks a test's "vCPU" thread until vCPU v of d has been kicked more than `seen` times
  /// (read kicks() BEFORE clearing upcall_pending, so no wake-up can be lost), or until
  /// `timeout` passes. Returns the new kick count.
  std::uint64_t wait_for_kick(DomId d, VcpuId v, std::uint64_t seen,
                              std::chrono::milliseconds timeout) {
    auto& k = kicks_[d.value()][v.value()];
    auto& sleepers = sleepers_[d.value()][v.value()];
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout;
    // Halt polling, as KVM does for a halted vCPU: a kick that comes within the poll window
    // costs no sleep and no wake-up (two futex calls and a reschedule on each side).
    if (halt_poll_.count() > 0) {
      const auto poll_end = start + std::min<std::chrono::steady_clock::duration>(halt_poll_, timeout);
      for (unsigned spins = 0;; ++spins) {
        if (const std::uint64_t now = k.load(std::memory_order_acquire); now > seen) return now;
        if ((spins & 63) == 63 && std::chrono::steady_clock::now() >= poll_end) break;
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
      }
    }
    for (;;) {
      std::uint64_t now = k.load(std::memory_order_seq_cst);
      if (now > seen) return now;
      sleepers.fetch_add(1, std::memory_order_seq_cst);
      now = k.load(std::memory_order_seq_cst);
      if (now <= seen) {
        const auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) {
          sleepers.fetch_sub(1, std::memory_order_seq_cst);
          return now;
        }
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
        // Sleeps only while the counter's low word still holds what was read (no lost wake-up).
        futex(low_word(k), FUTEX_WAIT_PRIVATE, static_cast<int>(static_cast<std::uint32_t>(now)), &ts);
      }
      sleepers.fetch_sub(1, std::memory_order_seq_cst);
    }
  }
  /// How long wait_for_kick polls by default before it sleeps (KVM polls a halted vCPU for up
  /// to 200 us by default; a test thread needs less).
  static constexpr std::chrono::nanoseconds kDefaultHaltPoll{20000};
  /// How long wait_for_kick polls the kick counter before it sleeps (0: sleep at once).
  void set_halt_poll(std::chrono::nanoseconds ns) { halt_poll_ = ns; }
  /// Kicks delivered to vCPU `v` of domain `d`.
  [[nodiscard]] std::uint64_t kicks(DomId d, VcpuId v) const {
    return kicks_[d.value()][v.value()].load(std::memory_order_relaxed);
  }
  /// Kicks delivered in total (a sum of the per-vCPU counters: exact once kicking has stopped).
  [[nodiscard]] std::uint64_t total_kicks() const {
    std::uint64_t n = other_kicks_.load(std::memory_order_relaxed);
    for (const auto& d : kicks_)
      for (const auto& v : d) n += v.load(std::memory_order_relaxed);
    return n;
  }
  /// Zeroes every kick counter.
  void reset_kicks() {
    for (auto& d : kicks_)
      for (auto& v : d) v.store(0, std::memory_order_relaxed);
    other_kicks_.store(0, std::memory_order_relaxed);
  }

  /// Lets domain `d` bind physical IRQ `pirq`.
  void permit_pirq(DomId d, std::uint32_t pirq) {
    std::lock_guard<std::mutex> g(mu_);
    pirqs_.insert({d.value(), pirq});
  }
  /// EventPlatform: whether `d` may bind `pirq` (only permitted pairs).
  bool pirq_permitted(DomId d, std::uint32_t pirq) {
    std::lock_guard<std::mutex> g(mu_);
    return pirqs_.count({d.value(), pirq}) != 0;
  }

 private:
  struct Frame {
    std::uint8_t* page = nullptr;
    int maps = 0;
  };
  HeapPageAllocator alloc_;
  std::mutex mu_;
  std::map<std::pair<std::uint16_t, std::uint64_t>, Frame> frames_;
  std::set<std::pair<std::uint16_t, std::uint32_t>> pirqs_;
  std::int64_t mapped_ = 0;
  std::int64_t bad_unmaps_ = 0;
  std::atomic<std::uint64_t> kicks_[kMaxDomains][kMaxVcpus]{};
  std::atomic<std::uint64_t> other_kicks_{0};  ///< kicks of ids beyond the per-vCPU array
  std::atomic<std::uint32_t> sleepers_[kMaxDomains][kMaxVcpus]{};  ///< threads in wait_for_kick
  std::chrono::nanoseconds halt_poll_{kDefaultHaltPoll};  ///< see set_halt_poll

  // The futex word is the low half of a 64-bit kick counter (little-endian; lock-free atomics
  // are the plain integer in memory).
  static_assert(std::endian::native == std::endian::little);
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                sizeof(std::atomic<std::uint64_t>) == sizeof(std::uint64_t));
  static std::uint32_t* low_word(std::atomic<std::uint64_t>& a) { return reinterpret_cast<std::uint32_t*>(&a); }
  static void futex(std::uint32_t* word, int op, int val, const timespec* ts) {
    (void)syscall(SYS_futex, word, op, val, ts, nullptr, 0);
  }
};

static_assert(event::EventPlatform<HostEventPlatform>);

}  // namespace pvkit::host
