// pvkit/arch/x86/cpu/segment.h — selectors, code/data and TSS descriptors, the GDT layout.
//
// What it is: `Selector` and `SegmentDescriptor` / `SystemDescriptor` with named fields, and
// pvkit's GDT layout. It follows Xen's x86-64 PV layout: the guest owns GDT entries below
// FIRST_RESERVED_GDT_ENTRY (14 pages * 512 = 7168); the hypervisor's entries sit above, so
// selectors a PV guest uses are Xen's (FLAT_RING3_CS64 0xe033, FLAT_RING3_SS64 0xe02b,
// FLAT_RING3_CS32 0xe023; checked against xen/arch-x86/xen-x86_64.h by
// //arch/x86:xen_selectors_abi_test). The ring-0 selectors are arranged for SYSCALL/SYSRET:
//   0xe008 hypervisor CS64   (SYSCALL: CS = STAR[47:32])
//   0xe010 hypervisor SS/DS  (SYSCALL: SS = STAR[47:32] + 8)
//   0xe023 guest CS32 (ring 3)   (SYSRET: base = STAR[63:48])
//   0xe02b guest SS/DS (ring 3)  (SYSRET: SS = base + 8)
//   0xe033 guest CS64 (ring 3)   (SYSRET: CS = base + 16)
//   0xe040 the CPU's 64-bit TSS (16-byte system descriptor)
//
// How to use it: `Gdt::init(tss_base, tss_limit)` fills one CPU's table; `star_msr_value()`
// is what goes into IA32_STAR. The sysret_*/syscall_* functions model what the CPU derives
// from STAR so host tests can check the selectors guests will see.
//
// Concurrency: plain data; each CPU owns its own Gdt.
#pragma once

#include <array>
#include <cstdint>

#include "pvkit/arch/x86/cpu/bitfield.h"

namespace pvkit::x86 {

/// A segment selector: descriptor index, table indicator (LDT) and requested privilege level.
class Selector {
 public:
  using Rpl = BitField<0, 2, std::uint16_t>;
  using Ti = BitFlag<2, std::uint16_t>;
  using Index = BitField<3, 13, std::uint16_t>;

  constexpr Selector() = default;
  constexpr explicit Selector(std::uint16_t raw) : raw_(raw) {}
  /// The GDT selector of entry `index` with requested privilege `rpl`.
  [[nodiscard]] static constexpr Selector gdt(unsigned index, unsigned rpl) {
    return Selector{static_cast<std::uint16_t>(Index::make(static_cast<std::uint16_t>(index)) |
                                               Rpl::make(static_cast<std::uint16_t>(rpl)))};
  }
  /// The descriptor-table index.
  [[nodiscard]] constexpr unsigned index() const { return Index::get(raw_); }
  /// The requested privilege level.
  [[nodiscard]] constexpr unsigned rpl() const { return Rpl::get(raw_); }
  /// True if the selector names the LDT.
  [[nodiscard]] constexpr bool ldt() const { return Ti::test(raw_); }
  /// The 16-bit selector value.
  [[nodiscard]] constexpr std::uint16_t raw() const { return raw_; }
  /// The selector's byte offset into the table (index * 8).
  [[nodiscard]] constexpr std::uint32_t offset() const { return index() * 8u; }
  friend constexpr bool operator==(Selector, Selector) = default;

 private:
  std::uint16_t raw_ = 0;
};

/// An 8-byte code or data segment descriptor (long mode honours only a few of its fields).
class SegmentDescriptor {
 public:
  using LimitLow = BitField<0, 16>;
  using BaseLow = BitField<16, 24>;
  using Accessed = BitFlag<40>;
  using ReadWrite = BitFlag<41>;   // readable (code) / writable (data)
  using Executable = BitFlag<43>;
  using CodeOrData = BitFlag<44>;  // S: 1 for code/data, 0 for system descriptors
  using Dpl = BitField<45, 2>;
  using Present = BitFlag<47>;
  using LimitHigh = BitField<48, 4>;
  using Long = BitFlag<53>;        // L: 64-bit code segment
  using Default32 = BitFlag<54>;   // D/B
  using Granularity = BitFlag<55>; // limit in 4 KiB units
  using BaseHigh = BitField<56, 8>;

  constexpr SegmentDescriptor() = default;
  constexpr explicit SegmentDescriptor(std::uint64_t raw) : raw_(raw) {}

  /// Flat 64-bit code segment at privilege `dpl`.
  [[nodiscard]] static constexpr SegmentDescriptor code64(unsigned dpl) {
    return SegmentDescriptor{flat(dpl) | Executable::kBit | Long::kBit};
  }
  /// Flat 32-bit (compatibility mode) code segment at privilege `dpl`.
  [[nodiscard]] static constexpr SegmentDescriptor code32(unsigned dpl) {
    return SegmentDescriptor{flat(dpl) | Executable::kBit | Default32::kBit};
  }
  /// Flat writable data / stack segment at privilege `dpl`.
  [[nodiscard]] static constexpr SegmentDescriptor data(unsigned dpl) {
    return SegmentDescriptor{flat(dpl) | Default32::kBit};
  }

  /// True if the descriptor is present.
  [[nodiscard]] constexpr bool present() const { return Present::test(raw_); }
  /// The descriptor privilege level.
  [[nodiscard]] constexpr unsigned dpl() const { return static_cast<unsigned>(Dpl::get(raw_)); }
  /// True for a code segment.
  [[nodiscard]] constexpr bool executable() const { return Executable::test(raw_); }
  /// True for a 64-bit code segment (L).
  [[nodiscard]] constexpr bool long_mode() const { return Long::test(raw_); }
  /// The D/B bit.
  [[nodiscard]] constexpr bool default32() const { return Default32::test(raw_); }
  /// True for a code or data (not system) descriptor.
  [[nodiscard]] constexpr bool code_or_data() const { return CodeOrData::test(raw_); }
  /// The 32-bit base.
  [[nodiscard]] constexpr std::uint32_t base() const {
    return static_cast<std::uint32_t>(BaseLow::get(raw_) | (BaseHigh::get(raw_) << 24));
  }
  /// The 20-bit limit (in granularity units).
  [[nodiscard]] constexpr std::uint32_t limit() const {
    return static_cast<std::uint32_t>(LimitLow::get(raw_) | (LimitHigh::get(raw_) << 16));
  }
  /// The 8-byte descriptor as stored.
  [[nodiscard]] constexpr std::uint64_t raw() const { return raw_; }

 private:
  static constexpr std::uint64_t flat(unsigned dpl) {
    return LimitLow::make(0xFFFF) | LimitHigh::make(0xF) | Granularity::kBit | Present::kBit |
           CodeOrData::kBit | ReadWrite::kBit | Accessed::kBit | Dpl::make(dpl);
  }
  std::uint64_t raw_ = 0;
};

/// A 16-byte long-mode system descriptor (the 64-bit TSS), as two table entries.
class SystemDescriptor {
 public:
  using LimitLow = BitField<0, 16>;
  using BaseLow = BitField<16, 24>;
  using Type = BitField<40, 4>;
  using Dpl = BitField<45, 2>;
  using Present = BitFlag<47>;
  using LimitHigh = BitField<48, 4>;
  using BaseMid = BitField<56, 8>;
  static constexpr std::uint64_t kTypeTss64Available = 0x9;
  static constexpr std::uint64_t kTypeTss64Busy = 0xB;

  /// An available 64-bit TSS at `base` with byte limit `limit` (size - 1).
  [[nodiscard]] static constexpr SystemDescriptor tss64(std::uint64_t base, std::uint32_t limit) {
    SystemDescriptor d;
    d.low_ = LimitLow::make(limit & 0xFFFF) | LimitHigh::make(limit >> 16) |
             BaseLow::make(base & 0xFFFFFF) | BaseMid::make((base >> 24) & 0xFF) |
             Type::make(kTypeTss64Available) | Present::kBit;
    d.high_ = base >> 32;
    return d;
  }
  /// The 64-bit base.
  [[nodiscard]] constexpr std::uint64_t base() const {
    return BaseLow::get(low_) | (BaseMid::get(low_) << 24) | (high_ << 32);
  }
  /// The byte limit.
  [[nodiscard]] constexpr std::uint32_t limit() const {
    return static_cast<std::uint32_t>(LimitLow::get(low_) | (LimitHigh::get(low_) << 16));
  }
  /// The system descriptor type (9 available TSS, 0xB busy).
  [[nodiscard]] constexpr unsigned type() const { return static_cast<unsigned>(Type::get(low_)); }
  /// True if the descriptor is present.
  [[nodiscard]] constexpr bool present() const { return Present::test(low_); }
  /// The low 8 bytes as stored.
  [[nodiscard]] constexpr std::uint64_t low() const { return low_; }
  /// The high 8 bytes as stored.
  [[nodiscard]] constexpr std::uint64_t high() const { return high_; }

 private:
  std::uint64_t low_ = 0;
  std::uint64_t high_ = 0;
};

// ---- pvkit's GDT layout (Xen's x86-64 PV layout) ----

/// Xen: FIRST_RESERVED_GDT_PAGE 14, so the hypervisor's entries start at 14 * 4096 / 8.
inline constexpr unsigned kFirstReservedGdtPage = 14;
inline constexpr unsigned kFirstReservedGdtEntry = kFirstReservedGdtPage * 4096 / 8;

inline constexpr Selector kHvCs = Selector::gdt(kFirstReservedGdtEntry + 1, 0);      // 0xe008
inline constexpr Selector kHvDs = Selector::gdt(kFirstReservedGdtEntry + 2, 0);      // 0xe010
inline constexpr Selector kGuestCs32 = Selector::gdt(kFirstReservedGdtEntry + 4, 3); // 0xe023
inline constexpr Selector kGuestDs = Selector::gdt(kFirstReservedGdtEntry + 5, 3);   // 0xe02b
inline constexpr Selector kGuestCs64 = Selector::gdt(kFirstReservedGdtEntry + 6, 3); // 0xe033
inline constexpr Selector kTss = Selector::gdt(kFirstReservedGdtEntry + 8, 0);       // 0xe040
/// The stack selector a 64-bit guest runs with (Xen: FLAT_RING3_SS64 == FLAT_RING3_DS32).
inline constexpr Selector kGuestSs64 = kGuestDs;
/// Entries in pvkit's per-CPU GDT: the guest part plus 16 hypervisor entries.
inline constexpr unsigned kGdtEntries = kFirstReservedGdtEntry + 16;

/// IA32_STAR: SYSCALL takes CS/SS from bits 47:32, SYSRET's base comes from bits 63:48.
inline constexpr std::uint64_t star_msr_value() {
  return (std::uint64_t{kGuestCs32.raw()} << 48) | (std::uint64_t{kHvCs.raw()} << 32);
}
// What the CPU loads from a STAR value (Intel SDM / AMD APM descriptions of SYSCALL/SYSRET).
inline constexpr Selector syscall_cs(std::uint64_t star) {
  return Selector{static_cast<std::uint16_t>((star >> 32) & 0xFFFC)};
}
/// SS loaded by SYSCALL.
inline constexpr Selector syscall_ss(std::uint64_t star) {
  return Selector{static_cast<std::uint16_t>(((star >> 32) + 8) & 0xFFFF)};
}
/// CS loaded by a 64-bit SYSRET.
inline constexpr Selector sysret64_cs(std::uint64_t star) {
  return Selector{static_cast<std::uint16_t>((((star >> 48) + 16) & 0xFFFF) | 3)};
}
/// SS loaded by SYSRET.
inline constexpr Selector sysret_ss(std::uint64_t star) {
  return Selector{static_cast<std::uint16_t>((((star >> 48) + 8) & 0xFFFF) | 3)};
}
/// CS loaded by a 32-bit SYSRET.
inline constexpr Selector sysret32_cs(std::uint64_t star) {
  return Selector{static_cast<std::uint16_t>(((star >> 48) & 0xFFFF) | 3)};
}

static_assert(syscall_cs(star_msr_value()) == kHvCs && syscall_ss(star_msr_value()) == kHvDs);
static_assert(sysret64_cs(star_msr_value()) == kGuestCs64 && sysret_ss(star_msr_value()) == kGuestSs64);
static_assert(sysret32_cs(star_msr_value()) == kGuestCs32);

/// One CPU's GDT: the guest-owned entries (empty until a guest installs its own) followed by
/// the hypervisor's. 64-bit TSS descriptors take two entries.
struct alignas(16) Gdt {
  std::array<std::uint64_t, kGdtEntries> entries;

  /// Fills the hypervisor's entries; `tss_base`/`tss_limit` describe this CPU's TSS.
  void init(std::uint64_t tss_base, std::uint32_t tss_limit) {
    for (auto& e : entries) e = 0;
    set(kHvCs, SegmentDescriptor::code64(0));
    set(kHvDs, SegmentDescriptor::data(0));
    set(kGuestCs32, SegmentDescriptor::code32(3));
    set(kGuestDs, SegmentDescriptor::data(3));
    set(kGuestCs64, SegmentDescriptor::code64(3));
    const SystemDescriptor t = SystemDescriptor::tss64(tss_base, tss_limit);
    entries[kTss.index()] = t.low();
    entries[kTss.index() + 1] = t.high();
  }
  /// Stores descriptor `d` at selector `s`.
  void set(Selector s, SegmentDescriptor d) { entries[s.index()] = d.raw(); }
  /// The descriptor at selector `s`.
  [[nodiscard]] SegmentDescriptor get(Selector s) const { return SegmentDescriptor{entries[s.index()]}; }
  /// The value for LGDT's limit field.
  [[nodiscard]] static constexpr std::uint16_t limit() { return kGdtEntries * 8 - 1; }
};

}  // namespace pvkit::x86
