// pvkit/arch/x86/cpu/fault_decode.h — decoding exception error codes, defensively.
//
// What it is: `SelectorErrorCode` (the error code of #GP/#NP/#SS/#TS that names a descriptor:
// EXT, IDT, TI, index), `PageFaultErrorCode` (P, W, U, RSVD, I/D, PK, SS), and
// `decode_soft_int_gp`, which tells whether a ring-3 #GP was a software `int $N` hitting a
// not-present or DPL-0 IDT gate and recovers N. The architectural error code is N*8+2, but
// QEMU 7.2 TCG (Debian) reports N*16+2; so the decoder trusts the instruction bytes at the
// faulting RIP (`CD ib`, read by the caller from guest memory) and accepts the error code
// only if it agrees with N under either encoding. A #GP without those bytes (or with a code
// that names something else) is not reported as a software interrupt.
//
// How to use it: in the ring-3 fault hook, copy up to 2 bytes at frame.rip from the guest
// and call `decode_soft_int_gp(frame.error_code, bytes, n)`.
//
// Concurrency: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "pvkit/arch/x86/cpu/bitfield.h"

namespace pvkit::x86 {

/// Layout of a selector error code (#GP, #NP, #SS, #TS).
struct SelectorErrorCode {
  using External = BitFlag<0>;
  using Idt = BitFlag<1>;
  using TableIndicator = BitFlag<2>;  // LDT (meaningful only when Idt is clear)
  using Index = BitField<3, 13>;
};

/// Layout of a page-fault error code.
struct PageFaultErrorCode {
  using Present = BitFlag<0>;
  using Write = BitFlag<1>;
  using User = BitFlag<2>;
  using ReservedBit = BitFlag<3>;
  using InstructionFetch = BitFlag<4>;
  using ProtectionKey = BitFlag<5>;
  using ShadowStack = BitFlag<6>;
};

/// The vector of a software `int $N` that raised #GP, or nullopt if the fault was something
/// else. `insn` holds `len` bytes read from the faulting RIP (len 0 if unreadable).
inline std::optional<unsigned> decode_soft_int_gp(std::uint64_t error_code, const std::uint8_t* insn,
                                                  std::size_t len) {
  if (len < 2 || insn == nullptr || insn[0] != 0xCD) return std::nullopt;  // not `int imm8`
  if (!SelectorErrorCode::Idt::test(error_code) || SelectorErrorCode::External::test(error_code)) {
    return std::nullopt;
  }
  const unsigned n = insn[1];
  const std::uint64_t architectural = std::uint64_t{n} * 8 + 2;
  const std::uint64_t qemu72_tcg = std::uint64_t{n} * 16 + 2;
  const std::uint64_t code = error_code & 0xFFFF;
  if (code == architectural || code == (qemu72_tcg & 0xFFFF)) return n;
  return std::nullopt;
}

}  // namespace pvkit::x86
