/**
 * Names an executable's format and CPU from its header bytes (ELF, Mach-O or PE), without running
 * it, so binaries built for other platforms can be checked here.
 */
export type ExecutableFormat = 'elf-x86_64' | 'elf-aarch64' | 'macho-x86_64' | 'macho-arm64' | 'pe32+-x86_64' | 'unknown'

export function executableFormat(bytes: Uint8Array): ExecutableFormat {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.length < 64) return 'unknown'
  // ELF: 7f 'E' 'L' 'F', class 2 (64-bit), data 1 (little-endian), e_machine at 0x12.
  if (view.getUint32(0) === 0x7f454c46 && bytes[4] === 2 && bytes[5] === 1) {
    const machine = view.getUint16(0x12, true)
    return machine === 0x3e ? 'elf-x86_64' : machine === 0xb7 ? 'elf-aarch64' : 'unknown'
  }
  // Mach-O 64-bit little-endian: magic 0xfeedfacf, cputype at 4.
  if (view.getUint32(0, true) === 0xfeedfacf) {
    const cpu = view.getUint32(4, true)
    return cpu === 0x01000007 ? 'macho-x86_64' : cpu === 0x0100000c ? 'macho-arm64' : 'unknown'
  }
  // PE: 'MZ', the PE header's offset at 0x3c, 'PE\0\0', machine, then the optional header's magic (0x20b = PE32+).
  if (bytes[0] === 0x4d && bytes[1] === 0x5a) {
    const pe = view.getUint32(0x3c, true)
    if (pe + 26 > bytes.length || view.getUint32(pe) !== 0x50450000) return 'unknown'
    const machine = view.getUint16(pe + 4, true)
    const magic = view.getUint16(pe + 24, true)
    return machine === 0x8664 && magic === 0x20b ? 'pe32+-x86_64' : 'unknown'
  }
  return 'unknown'
}
