// pvkit/arch/x86/cpu/tss.h — the 64-bit task-state segment with its I/O permission bitmap.
//
// What it is: `Tss64` (the architectural 104-byte layout: RSP0-2, IST1-7, I/O map base) and
// `TssBlock`, a TSS immediately followed by a full 8 KiB I/O permission bitmap and the
// mandatory trailing 0xFF byte. A ring-3 `in`/`out` is allowed only if every bit of the ports
// it touches is clear (IOPL is always 0 for guests, see frame.h). The hypervisor starts with
// every port denied; `IoBitmap::allow` grants ports to the domain about to run (e.g. a driver
// domain owning the UART), `deny_all` takes them back when switching away.
//
// How to use it: one TssBlock per CPU, described by the GDT's TSS entry
// (`Gdt::init(base, TssBlock::kLimit)`); `tss.rsp[0]` is the stack for entries from ring 3,
// `tss.ist[n-1]` the stack for IST slot n.
//
// Concurrency: per-CPU; only its own CPU writes it (while no ring-3 code runs on it).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pvkit::x86 {

/// The 64-bit task-state segment (RSP0, IST stacks, I/O bitmap base).
struct [[gnu::packed]] Tss64 {
  std::uint32_t reserved0;
  std::uint64_t rsp[3];  // stacks for entries from rings 3..1 into rings 0..2
  std::uint64_t reserved1;
  std::uint64_t ist[7];  // interrupt stack table: IST1..IST7
  std::uint64_t reserved2;
  std::uint16_t reserved3;
  std::uint16_t iomap_base;  // offset of the I/O permission bitmap from the TSS base
};
static_assert(sizeof(Tss64) == 104);
static_assert(offsetof(Tss64, rsp) == 4 && offsetof(Tss64, ist) == 36 && offsetof(Tss64, iomap_base) == 102);

/// The I/O permission bitmap: one bit per port, 1 = denied. The byte after the 65536 bits
/// must be 0xFF (the CPU may read one byte past the last port's).
class IoBitmap {
 public:
  static constexpr std::uint32_t kPorts = 65536;
  static constexpr std::size_t kBytes = kPorts / 8 + 1;

  /// Denies every port (and sets the trailing byte).
  void deny_all() {
    for (auto& b : bits_) b = 0xFF;
  }
  /// Allows `count` ports from `first` (clamped to the port space).
  void allow(std::uint32_t first, std::uint32_t count = 1) { set_range(first, count, false); }
  /// Denies `count` ports from `first`.
  void deny(std::uint32_t first, std::uint32_t count = 1) { set_range(first, count, true); }
  /// True if a one-byte access to `port` is allowed.
  [[nodiscard]] bool allowed(std::uint32_t port) const {
    return port < kPorts && (bits_[port / 8] & (1u << (port % 8))) == 0;
  }
  /// What the CPU checks for an access of `width` bytes at `port`: every bit clear.
  [[nodiscard]] bool access_allowed(std::uint32_t port, unsigned width) const {
    for (unsigned i = 0; i < width; ++i) {
      const std::uint32_t p = port + i;  // may reach 65536: the trailing byte answers "denied"
      if ((bits_[p / 8] & (1u << (p % 8))) != 0) return false;
    }
    return true;
  }
  /// The bitmap's trailing byte (always 0xFF: accesses past port 0xFFFF are denied).
  [[nodiscard]] std::uint8_t trailing_byte() const { return bits_[kBytes - 1]; }

 private:
  void set_range(std::uint32_t first, std::uint32_t count, bool deny) {
    for (std::uint32_t p = first; p < kPorts && p - first < count; ++p) {
      const auto bit = static_cast<std::uint8_t>(1u << (p % 8));
      bits_[p / 8] = static_cast<std::uint8_t>(deny ? (bits_[p / 8] | bit) : (bits_[p / 8] & ~bit));
    }
  }
  std::array<std::uint8_t, kBytes> bits_;
};

/// A TSS and its I/O bitmap, laid out as the CPU expects (bitmap at `iomap_base`).
struct alignas(64) TssBlock {
  Tss64 tss;
  IoBitmap io;

  /// The TSS descriptor's limit: the bitmap's trailing byte is the last byte inside it.
  static constexpr std::uint32_t kLimit = sizeof(Tss64) + IoBitmap::kBytes - 1;

  /// Resets the TSS, points it at the I/O bitmap and denies every port.
  void init() {
    tss = Tss64{};
    tss.iomap_base = static_cast<std::uint16_t>(sizeof(Tss64));
    io.deny_all();
  }
};
static_assert(offsetof(TssBlock, io) == sizeof(Tss64), "the bitmap must follow the TSS");

}  // namespace pvkit::x86
