// pvkit/arch/x86/apic/lapic.h — the local APIC (xAPIC, memory-mapped) and its timer.
//
// What it is: `Lapic`, register access through a 4 KiB MMIO window, with the registers pvkit
// uses named (ID, EOI, spurious-vector, LVT timer, ICR, timer initial/current count, divide)
// and the LVT timer layout as fields. QEMU 7.2's TCG implements the xAPIC (its x2APIC
// emulation came later), so pvkit uses MMIO at IA32_APIC_BASE (0xFEE00000), mapped
// uncacheable into the hypervisor's direct map by the image.
// The timer: `start_periodic(vector, count, divide)` — under TCG the APIC timer counts at a
// fixed virtual bus clock, so a fixed count gives a steady tick without calibration.
//
// How to use it: `Lapic apic{mmio_base}; apic.enable(kVecSpurious); apic.start_periodic(...)`;
// acknowledge each interrupt with `eoi()` (not for the spurious vector).
//
// Concurrency: per-CPU registers; only the owning CPU calls these.
#pragma once

#include <cstdint>

#include "pvkit/arch/x86/cpu/bitfield.h"

namespace pvkit::x86 {

/// The local APIC through its xAPIC MMIO page: registers, timer, EOI and IPIs.
class Lapic {
 public:
  // Register offsets (bytes into the MMIO page).
  static constexpr std::uint32_t kRegId = 0x20;
  static constexpr std::uint32_t kRegVersion = 0x30;
  static constexpr std::uint32_t kRegTpr = 0x80;
  static constexpr std::uint32_t kRegEoi = 0xB0;
  static constexpr std::uint32_t kRegSpurious = 0xF0;
  static constexpr std::uint32_t kRegIcrLow = 0x300;
  static constexpr std::uint32_t kRegIcrHigh = 0x310;
  static constexpr std::uint32_t kRegLvtTimer = 0x320;
  static constexpr std::uint32_t kRegTimerInitial = 0x380;
  static constexpr std::uint32_t kRegTimerCurrent = 0x390;
  static constexpr std::uint32_t kRegTimerDivide = 0x3E0;

  /// Layout of the spurious-interrupt vector register.
  struct Spurious {
    using Vector = BitField<0, 8, std::uint32_t>;
    using SoftwareEnable = BitFlag<8, std::uint32_t>;
  };
  /// Layout of the LVT timer register.
  struct LvtTimer {
    using Vector = BitField<0, 8, std::uint32_t>;
    using DeliveryPending = BitFlag<12, std::uint32_t>;
    using Masked = BitFlag<16, std::uint32_t>;
    using Mode = BitField<17, 2, std::uint32_t>;  // 0 one-shot, 1 periodic, 2 TSC-deadline
    static constexpr std::uint32_t kOneShot = 0, kPeriodic = 1;
  };
  /// Layout of the interrupt command register (low half).
  struct Icr {
    using Vector = BitField<0, 8, std::uint32_t>;
    using DeliveryMode = BitField<8, 3, std::uint32_t>;  // 0 fixed, 4 NMI
    using DeliveryStatus = BitFlag<12, std::uint32_t>;
    using Level = BitFlag<14, std::uint32_t>;
    using Shorthand = BitField<18, 2, std::uint32_t>;  // 1 self
    static constexpr std::uint32_t kModeFixed = 0, kModeNmi = 4, kShorthandSelf = 1;
  };
  /// Divide-configuration encodings (bits 0,1,3): divide by 1, 2, ... 128.
  enum class Divide : std::uint32_t { k1 = 0xB, k2 = 0x0, k4 = 0x1, k8 = 0x2, k16 = 0x3, k32 = 0x8, k64 = 0x9, k128 = 0xA };

  constexpr explicit Lapic(volatile std::uint32_t* mmio = nullptr) : mmio_(mmio) {}

  /// Reads the 32-bit register at byte offset `reg`.
  [[nodiscard]] std::uint32_t read(std::uint32_t reg) const { return mmio_[reg / 4]; }
  /// Writes the 32-bit register at byte offset `reg`.
  void write(std::uint32_t reg, std::uint32_t v) const { mmio_[reg / 4] = v; }
  /// The register's address, for code that must write it without calling back into C++.
  [[nodiscard]] volatile std::uint32_t* reg_address(std::uint32_t reg) const { return mmio_ + reg / 4; }
  /// The ICR value that sends an NMI to this CPU.
  static constexpr std::uint32_t kIcrSelfNmi =
      Icr::DeliveryMode::make(Icr::kModeNmi) | Icr::Level::kBit | Icr::Shorthand::make(Icr::kShorthandSelf);

  /// Software-enables the APIC with `spurious_vector`; accepts every priority.
  void enable(unsigned spurious_vector) const {
    write(kRegTpr, 0);
    write(kRegSpurious, Spurious::SoftwareEnable::kBit | Spurious::Vector::make(spurious_vector));
  }
  /// This CPU's APIC id.
  [[nodiscard]] std::uint32_t id() const { return read(kRegId) >> 24; }
  /// Signals end of interrupt.
  void eoi() const { write(kRegEoi, 0); }

  /// Periodic timer interrupts on `vector` every `count` ticks of the divided bus clock.
  void start_periodic(unsigned vector, std::uint32_t count, Divide div = Divide::k16) const {
    write(kRegTimerDivide, static_cast<std::uint32_t>(div));
    write(kRegLvtTimer, LvtTimer::Vector::make(vector) | LvtTimer::Mode::make(LvtTimer::kPeriodic));
    write(kRegTimerInitial, count);
  }
  /// Masks the timer and stops its count.
  void stop_timer() const {
    write(kRegLvtTimer, LvtTimer::Masked::kBit);
    write(kRegTimerInitial, 0);
  }
  /// Sends an NMI to this CPU.
  void self_nmi() const {
    write(kRegIcrHigh, 0);
    write(kRegIcrLow, kIcrSelfNmi);
  }

 private:
  volatile std::uint32_t* mmio_;
};

}  // namespace pvkit::x86
