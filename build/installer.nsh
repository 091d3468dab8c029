; Included by electron-builder into the NSIS installer (electron-builder.yml: nsis.include).
;
; Windows Error Reporting must never collect a dump of Enclave: its processes
; hold prompts, answers and, for a moment, the database key in memory, and WER
; keeps dumps on disk (C:\ProgramData\Microsoft\Windows\WER) and may upload
; them. Every Enclave process (main, the core's utility process, the renderer)
; runs as Enclave.exe, so one exclusion covers them all. The MSI writes the same
; value (build/msi-wer-exclusion.cjs); test/unit/packaging.test.ts checks both.
;
; No LocalDumps\Enclave.exe key is written: its mere presence turns local dump
; collection ON for the application, whatever DumpCount says.

!define ENCLAVE_WER_EXCLUDED_KEY "SOFTWARE\Microsoft\Windows\Windows Error Reporting\ExcludedApplications"
!define ENCLAVE_WER_EXCLUDED_NAME "Enclave.exe"

!macro customInstall
  ; The 64-bit view: WER reads HKLM\SOFTWARE, not WOW6432Node.
  SetRegView 64
  WriteRegDWORD HKLM "${ENCLAVE_WER_EXCLUDED_KEY}" "${ENCLAVE_WER_EXCLUDED_NAME}" 1
  SetRegView lastused
!macroend

!macro customUnInstall
  ; An update runs the old uninstaller first; the new installer writes the value again, but keep it meanwhile.
  ${ifNot} ${isUpdated}
    SetRegView 64
    DeleteRegValue HKLM "${ENCLAVE_WER_EXCLUDED_KEY}" "${ENCLAVE_WER_EXCLUDED_NAME}"
    SetRegView lastused
  ${endIf}
!macroend
