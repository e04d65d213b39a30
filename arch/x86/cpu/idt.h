// pvkit/arch/x86/cpu/idt.h — long-mode interrupt gates and the 256-entry IDT, and pvkit's
// vector assignment.
//
// What it is: `GateDescriptor` (16 bytes: handler offset, code selector, IST slot, type, DPL,
// present, as named fields) and `Idt`. pvkit installs gates for the 32 exception vectors, the
// LAPIC timer and the spurious vectors; every other vector stays not-present, so a guest's
// `int $N` raises #GP(N*8+2) (decoded by fault_decode.h). The IPI vectors (kick, TLB
// shootdown) are DPL 0 like every other interrupt vector. Only #BP (`int3`) and #OF (`into`)
// have DPL 3, as in Xen, so a guest can raise them itself. NMI, #DF and #MC run on IST stacks.
//
// How to use it: `idt.set(v, GateDescriptor::interrupt(handler, kHvCs, ist, dpl))`, then LIDT
// with `Idt::limit()`.
//
// Concurrency: written once at boot (shared by all CPUs afterwards, read-only).
#pragma once

#include <array>
#include <cstdint>

#include "pvkit/arch/x86/cpu/bitfield.h"
#include "pvkit/arch/x86/cpu/segment.h"

namespace pvkit::x86 {

// Architectural exception vectors.
inline constexpr unsigned kVecDivide = 0, kVecDebug = 1, kVecNmi = 2, kVecBreakpoint = 3,
                          kVecOverflow = 4, kVecBound = 5, kVecInvalidOpcode = 6,
                          kVecNoDevice = 7, kVecDoubleFault = 8, kVecInvalidTss = 10,
                          kVecNotPresent = 11, kVecStack = 12, kVecGeneralProtection = 13,
                          kVecPageFault = 14, kVecFpu = 16, kVecAlignment = 17,
                          kVecMachineCheck = 18, kVecSimd = 19, kVecVirtualization = 20,
                          kVecControlProtection = 21, kVecHypervisorInjection = 28,
                          kVecVmmCommunication = 29, kVecSecurity = 30;
inline constexpr unsigned kNumExceptionVectors = 32;
/// The vectors the 8259 PICs are moved to before being masked (their spurious IRQs 7 and 15
/// land on kVecPicBase + 7 and + 15 and are ignored).
inline constexpr unsigned kVecPicBase = 0x20;
/// The LAPIC timer.
inline constexpr unsigned kVecTimer = 0xF0;
/// A plain inter-processor interrupt ("kick": EntryHooks::ipi runs on the target).
inline constexpr unsigned kVecIpi = 0xF1;
/// TLB shootdown request (flush_tlb_all_cpus).
inline constexpr unsigned kVecTlbFlush = 0xF2;
/// The LAPIC spurious-interrupt vector (low 4 bits all ones, as older APICs require).
inline constexpr unsigned kVecSpurious = 0xFF;

/// Whether the CPU pushes an error code for exception `vector`.
inline constexpr bool exception_has_error_code(unsigned vector) {
  return vector == kVecDoubleFault || vector == kVecInvalidTss || vector == kVecNotPresent ||
         vector == kVecStack || vector == kVecGeneralProtection || vector == kVecPageFault ||
         vector == kVecAlignment || vector == kVecControlProtection ||
         vector == kVecVmmCommunication || vector == kVecSecurity;
}

// IST slots pvkit uses (1-based, as in the gate's IST field).
inline constexpr unsigned kIstDoubleFault = 1, kIstNmi = 2, kIstMachineCheck = 3;

/// A 16-byte long-mode interrupt/trap gate.
class GateDescriptor {
 public:
  using OffsetLow = BitField<0, 16>;
  using CodeSelector = BitField<16, 16>;
  using Ist = BitField<32, 3>;
  using Type = BitField<40, 4>;
  using Dpl = BitField<45, 2>;
  using Present = BitFlag<47>;
  using OffsetMid = BitField<48, 16>;
  static constexpr std::uint64_t kTypeInterruptGate = 0xE;  // clears IF on entry
  static constexpr std::uint64_t kTypeTrapGate = 0xF;

  /// An interrupt gate (IF cleared on entry) to `handler` in code segment `cs`.
  [[nodiscard]] static constexpr GateDescriptor interrupt(std::uint64_t handler, Selector cs,
                                                         unsigned ist, unsigned dpl) {
    GateDescriptor g;
    g.low_ = OffsetLow::make(handler & 0xFFFF) | CodeSelector::make(cs.raw()) | Ist::make(ist) |
             Type::make(kTypeInterruptGate) | Dpl::make(dpl) | Present::kBit |
             OffsetMid::make((handler >> 16) & 0xFFFF);
    g.high_ = handler >> 32;
    return g;
  }
  /// The handler's address.
  [[nodiscard]] constexpr std::uint64_t offset() const {
    return OffsetLow::get(low_) | (OffsetMid::get(low_) << 16) | ((high_ & 0xFFFFFFFF) << 32);
  }
  /// The code selector the gate switches to.
  [[nodiscard]] constexpr Selector selector() const {
    return Selector{static_cast<std::uint16_t>(CodeSelector::get(low_))};
  }
  /// The interrupt stack table slot (0: none).
  [[nodiscard]] constexpr unsigned ist() const { return static_cast<unsigned>(Ist::get(low_)); }
  /// The privilege level allowed to raise the vector with INT.
  [[nodiscard]] constexpr unsigned dpl() const { return static_cast<unsigned>(Dpl::get(low_)); }
  /// The gate type (0xE interrupt, 0xF trap).
  [[nodiscard]] constexpr unsigned type() const { return static_cast<unsigned>(Type::get(low_)); }
  /// True if the gate is present.
  [[nodiscard]] constexpr bool present() const { return Present::test(low_); }

 private:
  std::uint64_t low_ = 0;
  std::uint64_t high_ = 0;
};
static_assert(sizeof(GateDescriptor) == 16);

/// The 256-entry interrupt descriptor table.
struct alignas(16) Idt {
  std::array<GateDescriptor, 256> gates;
  /// The value for LIDT's limit field.
  [[nodiscard]] static constexpr std::uint16_t limit() { return 256 * 16 - 1; }
};

/// The gate pvkit installs for `vector` given the stub addresses (nullopt-like: returns a
/// not-present gate for vectors pvkit leaves empty). Kept here so host tests check the policy.
inline constexpr GateDescriptor pvkit_gate_for(unsigned vector, std::uint64_t stub) {
  const bool installed = vector < kNumExceptionVectors || vector == kVecTimer || vector == kVecIpi ||
                         vector == kVecTlbFlush || vector == kVecSpurious ||
                         vector == kVecPicBase + 7 || vector == kVecPicBase + 15;
  if (!installed) return GateDescriptor{};
  const unsigned dpl = (vector == kVecBreakpoint || vector == kVecOverflow) ? 3 : 0;
  const unsigned ist = vector == kVecDoubleFault   ? kIstDoubleFault
                       : vector == kVecNmi          ? kIstNmi
                       : vector == kVecMachineCheck ? kIstMachineCheck
                                                    : 0;
  return GateDescriptor::interrupt(stub, kHvCs, ist, dpl);
}

/// Short names of the exception vectors ("#PF"), "IRQ" for the rest.
inline constexpr const char* vector_mnemonic(unsigned vector) {
  constexpr const char* kNames[kNumExceptionVectors] = {
      "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS",
      "#NP", "#SS", "#GP", "#PF", "#RES15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
      "#RES22", "#RES23", "#RES24", "#RES25", "#RES26", "#RES27", "#HV", "#VC", "#SX", "#RES31"};
  return vector < kNumExceptionVectors ? kNames[vector] : "IRQ";
}

}  // namespace pvkit::x86
