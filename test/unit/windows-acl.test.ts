// Doctor on Windows: who may read a secret file, from its ACL in SDDL form
// (SIDs, so a German or French Windows answers the same).
import { describe, expect, it } from 'vitest';
import { broadReaders } from '../../src/main/cli/doctor/windows-acl.js';

describe('broad readers in a Windows ACL (SDDL)', () => {
  it('an ACL for SYSTEM, Administrators and one service account lets no broad group read', () => {
    expect(broadReaders('O:BAG:SYD:PAI(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;S-1-5-21-1004336348-1177238915-682003330-1001)')).toEqual([]);
  });

  it('names inherited read access for Users (the ProgramData default) and Everyone, by letter codes and by mask', () => {
    expect(broadReaders('O:BAG:SYD:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;0x1200a9;;;BU)')).toEqual(['Users']);
    expect(broadReaders('O:BAG:SYD:(A;;GR;;;WD)(A;;FA;;;BA)')).toEqual(['Everyone']);
    expect(broadReaders('O:BAG:SYD:(A;;0x80000000;;;S-1-5-11)')).toEqual(['Authenticated Users']);
  });

  it('does not count rights that do not read the data, or deny entries', () => {
    // 0x100000 is SYNCHRONIZE alone; FW writes without reading.
    expect(broadReaders('O:BAG:SYD:(A;;0x100000;;;BU)(A;;FW;;;WD)(D;;FA;;;AU)')).toEqual([]);
  });

  it('a file without a DACL, or with NO_ACCESS_CONTROL, is readable by everyone', () => {
    expect(broadReaders('O:BAG:SY')).toEqual(['Everyone (no access list was found)']);
    expect(broadReaders('O:BAG:SYD:NO_ACCESS_CONTROL')).toEqual(['Everyone (a null access list: NO_ACCESS_CONTROL)']);
  });
});
