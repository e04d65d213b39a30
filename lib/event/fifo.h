// pvkit/event/fifo.h — the FIFO event ABI: event array, per-vCPU control blocks and queues.
//
// What it is: `FifoDomain<kMaxVcpus>`, one domain's FIFO state. The guest provides the event
// array (pages of 1024 32-bit event words, added by EVTCHNOP_expand_array, up to 128 pages =
// 2^17 ports) and one control block per vCPU {ready, head[16]} (EVTCHNOP_init_control). The
// hypervisor keeps, per vCPU and priority, a queue {lock, pointer to the guest's head word,
// private tail port}. Raising an event sets PENDING; if the word is neither MASKED nor LINKED,
// the event is appended: LINKED is set, the old tail's LINK is pointed at it with a bounded
// compare-exchange loop (the guest may be rewriting that word: after kLinkAttempts the
// hypervisor marks it BUSY, tries kLinkAttempts more times, and otherwise gives up), or, if
// the queue was empty for the guest, head[priority] is written; then the READY bit of the
// priority is set and, if it went 0->1, the vCPU needs an upcall.
// No control block for the target vCPU: the event is left PENDING but not queued (dropped as a
// notification; invariant 18). The queue's head pointer is set before the control block
// pointer is published (release), and read after it (acquire).
//
// How to use it: EventChannels owns one per domain and calls these with the channel's state.
// Mapping and unmapping guest frames is the caller's business (EventPlatform); this class
// stores the hypervisor pointers it is given.
//
// Concurrency: set_pending/unmask may run on any CPU concurrently (queue spin locks; one held
// at a time). init_control/add_page/teardown run under the domain's event lock; teardown may
// only run once no set_pending can be running (EventChannels guarantees it with a user count).
#pragma once

#include <atomic>
#include <cstdint>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/event/channel.h"
#include "pvkit/event/event_word.h"
#include "pvkit/event/guest_atomic.h"
#include "pvkit/event/xen_abi.h"

namespace pvkit::event {

/// Compare-exchange attempts on a guest word before (and again after) setting BUSY.
inline constexpr int kLinkAttempts = 4;
/// Attempts to lock the queue an event was last on while it keeps moving.
inline constexpr int kOldQueueAttempts = 3;

/// A domain's FIFO event-channel state: per-vCPU control blocks and queues, the event array pages.
template <std::uint32_t kMaxVcpus>
class FifoDomain {
 public:
  /// One priority queue of a vCPU: its head lives in the guest's control block, its tail here.
  struct Queue {
    SpinLock lock;
    std::uint32_t* head = nullptr;  ///< &control_block->head[priority] (guest memory)
    std::uint32_t tail = 0;         ///< last port appended (0: none); hypervisor-private
  };
  /// A vCPU's FIFO state: its control block (guest memory) and one queue per priority.
  struct Vcpu {
    std::atomic<xen::EvtchnFifoControlBlock*> control_block{nullptr};
    void* control_page = nullptr;  ///< the mapped frame, for unmapping
    Queue queue[xen::kEvtchnFifoMaxQueues];
  };

  /// The event word of `port`, or nullptr if the event array does not reach it yet.
  [[nodiscard]] std::uint32_t* word(std::uint32_t port) const {
    const std::uint32_t page = port / xen::kEvtchnFifoWordsPerPage;
    if (page >= nr_pages_.load(std::memory_order_acquire)) return nullptr;
    return pages_[page].load(std::memory_order_relaxed) + port % xen::kEvtchnFifoWordsPerPage;
  }
  /// Event array pages mapped so far.
  [[nodiscard]] std::uint32_t nr_pages() const { return nr_pages_.load(std::memory_order_acquire); }
  /// True once `vcpu` registered a control block (EVTCHNOP_init_control).
  [[nodiscard]] bool has_control_block(std::uint32_t vcpu) const {
    return vcpu < kMaxVcpus && vcpus_[vcpu].control_block.load(std::memory_order_acquire) != nullptr;
  }
  /// The control block of `vcpu` (guest memory), or nullptr.
  [[nodiscard]] xen::EvtchnFifoControlBlock* control_block(std::uint32_t vcpu) const {
    return vcpu < kMaxVcpus ? vcpus_[vcpu].control_block.load(std::memory_order_acquire) : nullptr;
  }

  /// Registers vCPU `vcpu`'s control block at `page + offset` (already validated by the caller:
  /// offset within the page and 8-byte aligned). Heads are set before the block is published.
  [[nodiscard]] Status init_control(std::uint32_t vcpu, void* page, std::uint32_t offset) {
    if (vcpu >= kMaxVcpus) return Errno::NoEnt;
    Vcpu& v = vcpus_[vcpu];
    if (v.control_block.load(std::memory_order_relaxed) != nullptr) return Errno::Inval;
    auto* cb = reinterpret_cast<xen::EvtchnFifoControlBlock*>(static_cast<std::uint8_t*>(page) + offset);
    for (std::uint32_t p = 0; p < xen::kEvtchnFifoMaxQueues; ++p) {
      LockGuard g(v.queue[p].lock);
      v.queue[p].head = &cb->head[p];
      v.queue[p].tail = 0;
    }
    v.control_page = page;
    v.control_block.store(cb, std::memory_order_release);
    return Status::ok();
  }

  /// Appends one event-array page. Errno::NoSpc when the array is full.
  [[nodiscard]] Status add_page(std::uint32_t* page) {
    const std::uint32_t n = nr_pages_.load(std::memory_order_relaxed);
    if (n >= xen::kEvtchnFifoMaxArrayPages) return Errno::NoSpc;
    pages_[n].store(page, std::memory_order_relaxed);
    nr_pages_.store(n + 1, std::memory_order_release);  // page published before the bound
    return Status::ok();
  }

  /// Raises `port` (whose channel is `ch`) towards `vcpu`. Returns true when the vCPU needs
  /// an upcall (a READY bit went 0->1). Without an event word, records a deferred event.
  bool set_pending(std::uint32_t vcpu, std::uint32_t port, Channel& ch) {
    std::uint32_t* w = word(port);
    if (w == nullptr) {
      ch.deferred_pending.store(true, std::memory_order_release);
      return false;
    }
    guest_fetch_or(w, EventWord::kPending);
    return link(vcpu, port, ch, w);
  }

  /// EVTCHNOP_unmask under FIFO: clear MASKED; if PENDING, queue it as set_pending would.
  bool unmask(std::uint32_t vcpu, std::uint32_t port, Channel& ch) {
    std::uint32_t* w = word(port);
    if (w == nullptr) return false;
    guest_fetch_and(w, ~EventWord::kMasked);
    if (!EventWord{guest_load(w)}.pending()) return false;
    return link(vcpu, port, ch, w);
  }

  /// Clears PENDING of `port` in its event word.
  void clear_pending(std::uint32_t port, Channel& ch) {
    ch.deferred_pending.store(false, std::memory_order_relaxed);
    if (std::uint32_t* w = word(port)) guest_fetch_and(w, ~EventWord::kPending);
  }
  /// True if `port`'s event word has PENDING set (false if the array does not reach it).
  [[nodiscard]] bool is_pending(std::uint32_t port) const {
    std::uint32_t* w = word(port);
    return w != nullptr && EventWord{guest_load(w)}.pending();
  }
  /// True if `port`'s event word has MASKED set (true if the array does not reach it).
  [[nodiscard]] bool is_masked(std::uint32_t port) const {
    std::uint32_t* w = word(port);
    return w == nullptr || EventWord{guest_load(w)}.masked();
  }

  /// Forgets every page and control block, handing each mapped frame to `unmap(void*)`.
  /// Only when no set_pending/unmask can be running.
  template <typename Unmap>
  void teardown(Unmap&& unmap) {
    for (auto& v : vcpus_) {
      if (v.control_block.load(std::memory_order_relaxed) != nullptr) unmap(v.control_page);
      v.control_block.store(nullptr, std::memory_order_relaxed);
      v.control_page = nullptr;
      for (auto& q : v.queue) {
        q.head = nullptr;
        q.tail = 0;
      }
    }
    const std::uint32_t n = nr_pages_.load(std::memory_order_relaxed);
    nr_pages_.store(0, std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < n; ++i) {
      unmap(pages_[i].load(std::memory_order_relaxed));
      pages_[i].store(nullptr, std::memory_order_relaxed);
    }
  }

 private:
  Queue& queue_of(std::uint32_t key) {
    const std::uint32_t v = (key / xen::kEvtchnFifoMaxQueues) % kMaxVcpus;
    return vcpus_[v].queue[key % xen::kEvtchnFifoMaxQueues];
  }

  /// Points the (guest-writable) tail word's LINK at `port` if it is still LINKED.
  /// 1: linked; 0: the tail is no longer linked (queue empty for the guest); -1: gave up.
  static int try_set_link(std::uint32_t* tail_word, std::uint32_t port) {
    std::uint32_t cur = guest_load(tail_word);
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < kLinkAttempts; ++i) {
        const EventWord w{cur};
        if (!w.linked()) {
          if (round == 1) guest_fetch_and(tail_word, ~EventWord::kBusy);
          return 0;
        }
        if (guest_cas(tail_word, cur, w.with_link(port).raw())) return 1;
      }
      // The guest keeps changing the word: hold it BUSY (it must not unmask meanwhile).
      cur = guest_fetch_or(tail_word, EventWord::kBusy) | EventWord::kBusy;
    }
    guest_fetch_and(tail_word, ~EventWord::kBusy);
    return -1;
  }

  bool link(std::uint32_t vcpu, std::uint32_t port, Channel& ch, std::uint32_t* w) {
    if (vcpu >= kMaxVcpus) return false;
    {
      const EventWord snap{guest_load(w)};
      if (snap.masked() || snap.linked()) return false;
    }
    // Lock the queue the event was last on; it may move while we look (bounded).
    Queue* old_q = nullptr;
    for (int i = 0; i < kOldQueueAttempts && old_q == nullptr; ++i) {
      const std::uint32_t key = ch.last_queue.load(std::memory_order_acquire);
      Queue& q = queue_of(key);
      q.lock.lock();
      if (ch.last_queue.load(std::memory_order_acquire) == key) {
        old_q = &q;
      } else {
        q.lock.unlock();
      }
    }
    if (old_q == nullptr) return false;
    // Still linked on the old queue: it will be seen there.
    if (EventWord{guest_load(w)}.linked()) {
      old_q->lock.unlock();
      return false;
    }
    // The guest consumed it; if it was the old queue's tail, that queue is now empty.
    if (old_q->tail == port) old_q->tail = 0;

    const std::uint32_t prio = ch.priority.load(std::memory_order_relaxed) % xen::kEvtchnFifoMaxQueues;
    Queue* q = &vcpus_[vcpu].queue[prio];
    if (q != old_q) {
      ch.last_queue.store(fifo_queue_key(vcpu, prio), std::memory_order_release);
      old_q->lock.unlock();
      q->lock.lock();
    }
    xen::EvtchnFifoControlBlock* cb = vcpus_[vcpu].control_block.load(std::memory_order_acquire);
    if (cb == nullptr || q->head == nullptr) {  // invariant 18: no control block -> drop
      q->lock.unlock();
      return false;
    }
    if (EventWord{guest_fetch_or(w, EventWord::kLinked)}.linked()) {
      q->lock.unlock();
      return false;
    }
    bool linked = false;
    if (q->tail != 0 && q->tail != port) {
      if (std::uint32_t* tw = word(q->tail)) linked = try_set_link(tw, port) == 1;
    }
    if (!linked) guest_store(q->head, port);
    q->tail = port;
    q->lock.unlock();

    const std::uint32_t bit = 1u << prio;
    return (guest_fetch_or(&cb->ready, bit) & bit) == 0;
  }

  std::atomic<std::uint32_t> nr_pages_{0};
  std::atomic<std::uint32_t*> pages_[xen::kEvtchnFifoMaxArrayPages]{};
  Vcpu vcpus_[kMaxVcpus];
};

}  // namespace pvkit::event
