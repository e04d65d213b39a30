// The run image's `bench_domains=N` mode (see domain_bench.h): create + destroy a small domain
// N times in the real PC hypervisor, timed with rdtsc (instructions under QEMU -icount), then
// the no-leak and refusal checks.
#include "pvkit/platforms/pc/run/domain_bench.h"

#include <algorithm>
#include <array>

#include "pvkit/arch/x86/io.h"
#include "pvkit/platforms/pc/ktest.h"
#include "pvkit/platforms/pc/log.h"

namespace pvkit::pc {
namespace {

/// Everything a create/destroy could leak or leave behind, counted.
struct Census {
  std::uint64_t free_frames = 0;  ///< frame pool
  std::uint64_t table = 0;        ///< DomainTable slots in use
  std::uint64_t slots = 0;        ///< vCPU slots not free
  std::uint64_t next_domid = 0;   ///< what the next create_domain would use
  std::uint64_t built = 0;        ///< Hypervisor::domains_built
  std::uint64_t owned = 0;        ///< frames with an owner
  std::uint64_t typed = 0;        ///< frames with a type reference
  std::uint64_t xen = 0;          ///< hypervisor frames
  std::uint64_t refs = 0;         ///< general + type references over all frames
  bool operator==(const Census&) const = default;
};

Census census(Hypervisor& hv) {
  Census c;
  c.free_frames = hv.pool.free_frames();
  c.table = hv.domains.size();
  for (const Vcpu& v : hv.vcpus) c.slots += v.state != VcpuState::kFree ? 1 : 0;
  c.next_domid = hv.next_domid();
  c.built = hv.domains_built;
  hv.frames->for_each([&](Mfn, FrameInfo& f) {
    c.owned += f.owner != nullptr ? 1 : 0;
    c.typed += f.type_count != 0 ? 1 : 0;
    c.xen += f.xen ? 1 : 0;
    c.refs += f.refcount + f.type_count;
  });
  return c;
}

void print_census(const char* label, const Census& c) {
  printf("pvkit: bench_domains: %s: %lu free frames, %lu table slots, %lu vCPU slots, next domid %lu, %lu built; "
         "frames: %lu owned, %lu typed, %lu hypervisor, %lu references\n",
         label, static_cast<unsigned long>(c.free_frames), static_cast<unsigned long>(c.table),
         static_cast<unsigned long>(c.slots), static_cast<unsigned long>(c.next_domid),
         static_cast<unsigned long>(c.built), static_cast<unsigned long>(c.owned), static_cast<unsigned long>(c.typed),
         static_cast<unsigned long>(c.xen), static_cast<unsigned long>(c.refs));
}

/// Counts of one figure over the timed pairs.
struct Stats {
  std::uint64_t min = 0, median = 0, max = 0;
};

Stats stats_of(std::span<std::uint64_t> xs) {
  std::sort(xs.begin(), xs.end());
  return {xs.front(), xs[xs.size() / 2], xs.back()};
}

std::array<std::uint64_t, kMaxBenchPairs> g_create{};
std::array<std::uint64_t, kMaxBenchPairs> g_destroy{};
std::array<std::uint64_t, kMaxBenchPairs> g_pair{};
/// Frames set aside to run builds with a nearly empty pool.
constinit FramePool<x86::HvDirectMap> g_aside;

}  // namespace

bool run_domain_bench(Hypervisor& hv, std::span<const std::uint8_t> elf, std::uint32_t n) {
  if (n > kMaxBenchPairs) n = kMaxBenchPairs;
  if (n == 0) n = 1;
  Ktest t;
  bool ok = true;
  auto check = [&](const char* what, bool good) { ok = t.check(what, good) && ok; };
  const GuestSpec spec{.name = "bench-domain", .elf = elf, .cmdline = "", .nr_pages = kBenchDomainPages,
                       .expect = Expect::kPoweroff, .role = "created and destroyed by bench_domains", .quiet = true};
  char what[200];

  // The empty bracket: what two back-to-back rdtsc cost (subtracted from every figure).
  std::uint64_t empty = ~std::uint64_t{0};
  for (int i = 0; i < 16; ++i) {
    const std::uint64_t a = x86::rdtsc();
    const std::uint64_t b = x86::rdtsc();
    empty = std::min(empty, b - a);
  }

  const Census before = census(hv);
  print_census("before", before);
  std::uint32_t done = 0;
  for (; done < n; ++done) {
    const std::uint64_t t0 = x86::rdtsc();
    const Result<Vcpu*> v = hv.create_domain(spec);
    const std::uint64_t t1 = x86::rdtsc();
    if (!v) break;
    const DomId id = (*v)->id;
    const Status s = hv.destroy_domain(id);
    const std::uint64_t t2 = x86::rdtsc();
    if (!s) {
      printf("pvkit: bench_domains: destroying d%u failed: error %d\n", static_cast<unsigned>(id.value()),
             -static_cast<int>(s.error()));
      break;
    }
    g_create[done] = t1 - t0 - empty;
    g_destroy[done] = t2 - t1 - empty;
    g_pair[done] = t2 - t0 - empty;
  }
  snprintf(what, sizeof what, "bench_domains: %u of %u create+destroy pairs of a %lu-page domain succeeded", done, n,
           static_cast<unsigned long>(kBenchDomainPages));
  check(what, done == n);
  const Census after = census(hv);
  print_census("after", after);
  check("bench_domains: frame pool, domain table, vCPU slots and frame database exactly as before (no leak)",
        after == before);
  if (done == n) {
    const Stats c = stats_of(std::span(g_create.data(), n));
    const Stats d = stats_of(std::span(g_destroy.data(), n));
    const Stats p = stats_of(std::span(g_pair.data(), n));
    printf("pvkit: bench_domains: %u pairs, instructions (rdtsc under -icount, empty bracket of %lu subtracted) "
           "min/median/max: create %lu/%lu/%lu, destroy %lu/%lu/%lu, create+destroy %lu/%lu/%lu\n",
           n, static_cast<unsigned long>(empty), static_cast<unsigned long>(c.min),
           static_cast<unsigned long>(c.median), static_cast<unsigned long>(c.max), static_cast<unsigned long>(d.min),
           static_cast<unsigned long>(d.median), static_cast<unsigned long>(d.max), static_cast<unsigned long>(p.min),
           static_cast<unsigned long>(p.median), static_cast<unsigned long>(p.max));
    printf("BENCH name=domain_create_destroy value=%lu unit=instructions\n", static_cast<unsigned long>(p.min));
    printf("BENCH name=domain_create value=%lu unit=instructions\n", static_cast<unsigned long>(c.min));
    printf("BENCH name=domain_destroy value=%lu unit=instructions\n", static_cast<unsigned long>(d.min));
  }

  // A full table: every free slot filled, then one more must fail with NoSpc, changing nothing.
  {
    std::array<DomId, kMaxDomains> made{};
    std::size_t nmade = 0;
    const std::size_t free_slots = kMaxDomains - static_cast<std::size_t>(before.slots);
    for (std::size_t i = 0; i < free_slots; ++i) {
      const Result<Vcpu*> v = hv.create_domain(spec);
      if (!v) break;
      made[nmade++] = (*v)->id;
    }
    snprintf(what, sizeof what, "bench_domains: the %lu free domain slots filled", static_cast<unsigned long>(free_slots));
    check(what, nmade == free_slots);
    const Census full = census(hv);
    const Result<Vcpu*> extra = hv.create_domain(spec);
    check("bench_domains: creating a domain with every slot in use fails with NoSpc",
          !extra && extra.status().error() == Errno::NoSpc);
    check("bench_domains: ... and changes nothing (pool, table, frame database)", census(hv) == full);
    bool destroyed = true;
    for (std::size_t i = 0; i < nmade; ++i) destroyed = hv.destroy_domain(made[i]).is_ok() && destroyed;
    check("bench_domains: the filled slots destroyed", destroyed);
    check("bench_domains: everything back as before the full table", census(hv) == before);
  }

  // Too big a domain: refused before anything is touched.
  {
    GuestSpec big = spec;
    big.nr_pages = kMaxDomainPages + 1;
    const Result<Vcpu*> v = hv.create_domain(big);
    check("bench_domains: a domain larger than kMaxDomainPages is refused with Inval",
          !v && v.status().error() == Errno::Inval);
    check("bench_domains: ... and changes nothing", census(hv) == before);
  }

  // Out of frames at each point of a build: the pool drained (frames moved aside) to every size
  // from just below the builder's up-front check (nr_pages + 1) to one frame short of what a
  // build takes, so the build runs dry in the builder, the event area or the grant table;
  // every attempt must fail with NoMem, undone completely (the builder runs the teardown).
  {
    std::uint64_t need = 0;
    if (const Result<Vcpu*> v = hv.create_domain(spec)) {
      need = before.free_frames - hv.pool.free_frames();
      (void)hv.destroy_domain((*v)->id);
    }
    const std::uint64_t lowest = kBenchDomainPages;
    (void)hv.pool.move_to(g_aside, hv.pool.free_frames() - lowest);
    std::uint32_t attempts = 0, nomem = 0, intact = 0, past_check = 0;
    for (std::uint64_t level = lowest; level < need; ++level) {
      if (hv.pool.free_frames() < level) (void)g_aside.move_to(hv.pool, level - hv.pool.free_frames());
      const Census c0 = census(hv);
      const Result<Vcpu*> v = hv.create_domain(spec);
      ++attempts;
      past_check += level >= kBenchDomainPages + 1 ? 1 : 0;
      if (v) {
        (void)hv.destroy_domain((*v)->id);
      } else if (v.status().error() == Errno::NoMem) {
        ++nomem;
      }
      intact += census(hv) == c0 ? 1 : 0;
    }
    (void)g_aside.move_to(hv.pool, g_aside.free_frames());
    printf("pvkit: bench_domains: a build takes %lu frames; %u builds with too few frames (%u of them past the "
           "up-front check)\n",
           static_cast<unsigned long>(need), attempts, past_check);
    check("bench_domains: a build needs more frames than the up-front check asks for (so failures mid-build are tried)",
          past_check > 0);
    check("bench_domains: every build short of frames fails with NoMem", attempts > 0 && nomem == attempts);
    check("bench_domains: ... and is undone completely (pool, table, frame database as before the attempt)",
          intact == attempts);
    check("bench_domains: everything back as before after the pool is refilled", census(hv) == before);
  }

  // Destroying what does not exist.
  {
    const DomId free_id{hv.next_domid()};
    check("bench_domains: destroying a free slot answers Srch", hv.destroy_domain(free_id).error() == Errno::Srch);
    check("bench_domains: destroying an out-of-range domain id answers Srch",
          hv.destroy_domain(DomId{static_cast<std::uint16_t>(kMaxDomains)}).error() == Errno::Srch);
    const Result<Vcpu*> v = hv.create_domain(spec);
    bool twice = false;
    if (v) {
      const DomId id = (*v)->id;
      twice = hv.destroy_domain(id).is_ok() && hv.destroy_domain(id).error() == Errno::Srch;
    }
    check("bench_domains: destroying the same domain twice answers Srch the second time", twice);
    check("bench_domains: everything back as before", census(hv) == before);
  }
  return ok;
}

}  // namespace pvkit::pc
