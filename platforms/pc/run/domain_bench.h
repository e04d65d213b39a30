// pvkit/platforms/pc/run/domain_bench.h — the run image's `bench_domains=N` mode: what it
// costs the real PC hypervisor to create and destroy a small domain, and proof that doing so
// leaks nothing.
//
// What it is: `run_domain_bench(hv, elf, n)` builds a small domain (kBenchDomainPages pages)
// from a guest kernel ELF with Hypervisor::create_domain and destroys it with
// Hypervisor::destroy_domain, n times, each call bracketed by rdtsc. Under QEMU
// `-icount shift=0,align=off,sleep=off` rdtsc counts retired instructions, so each bracket is
// the exact number of instructions the hypervisor executed (the empty bracket is subtracted).
// It prints, for the minimum over the n pairs (exact: the path is deterministic, and the
// printed min/median/max show it),
//   BENCH name=domain_create_destroy value=<instructions> unit=instructions
//   BENCH name=domain_create value=... / BENCH name=domain_destroy value=...
// and then checks, each as a `pvkit-test: ok|FAIL` line, that
//   - the frame pool's free count, the domain table, the vCPU slots and a census of the frame
//     database (owned, typed, hypervisor frames, references) are exactly as before the loop;
//   - creating a domain when every slot is in use fails with NoSpc and changes nothing;
//   - a domain larger than kMaxDomainPages is refused with Inval and changes nothing;
//   - a build that runs out of frames at any point (the pool drained to each size in turn)
//     fails with NoMem and is undone completely;
//   - destroying a free slot, an out-of-range id or the same domain twice answers Srch.
// Domains it creates are `quiet` (no story lines): console output is not what it measures.
// How to use it: in an image's pvkit_main, after building the boot domains and before
// `hv.run()`: `if (!pc::run_domain_bench(hv, elf, n)) { /* RESULT FAILURE */ }`.
// Concurrency: boot CPU, before Hypervisor::run() (no timer interrupts yet).
#pragma once

#include <cstdint>
#include <span>

#include "pvkit/platforms/pc/hv/hypervisor.h"

namespace pvkit::pc {

/// The benchmark domain's memory: 4 MiB, the smallest the PV layout allows (like Xen's builder,
/// lib/loader maps the bootstrap area up to a 4 MiB boundary, so 1 MiB domains do not fit),
/// and the size of the boot modules' domains (kDefaultDomainPages).
inline constexpr std::uint64_t kBenchDomainPages = kDefaultDomainPages;
/// At most this many create+destroy pairs are timed (larger n is clamped).
inline constexpr std::uint32_t kMaxBenchPairs = 512;

/// Runs the benchmark and the checks; false if any check failed (the lines say which).
[[nodiscard]] bool run_domain_bench(Hypervisor& hv, std::span<const std::uint8_t> elf, std::uint32_t n);

}  // namespace pvkit::pc
