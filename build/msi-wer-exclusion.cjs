// electron-builder's msiProjectCreated hook (electron-builder.yml): adds to the
// WiX project, before it is compiled, the registry value that excludes
// Enclave.exe from Windows Error Reporting (see build/installer.nsh for why).
// A component's registry values are removed by Windows Installer when the
// product is uninstalled, and kept across a major upgrade.
'use strict';
const { readFile, writeFile } = require('node:fs/promises');

const WER_EXCLUDED_KEY = 'SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\ExcludedApplications';
const EXECUTABLE = 'Enclave.exe';
// NEVER CHANGE: Windows Installer tracks the component (and so the value) by this GUID.
const COMPONENT_GUID = '{9DA5A895-2FB5-49E2-9CA6-3E2A86A973C1}';

const COMPONENT = [
  `<Component Id="EnclaveWerExclusion" Guid="${COMPONENT_GUID}" Win64="yes">`,
  `  <RegistryValue Root="HKLM" Key="${WER_EXCLUDED_KEY}" Name="${EXECUTABLE}" Type="integer" Value="1" KeyPath="yes"/>`,
  '</Component>',
].join('\n');

/** The project text with the component added to the product's own component group. */
function addWerExclusion(wxs) {
  const group = /(<ComponentGroup Id="ProductComponents"[^>]*>)([\s\S]*?)(<\/ComponentGroup>)/;
  if (!group.test(wxs)) throw new Error('msi-wer-exclusion: the WiX project has no ProductComponents group; electron-builder\'s MSI template changed, update this hook');
  return wxs.replace(group, (_, open, body, close) => `${open}${body}\n${COMPONENT}\n${close}`);
}

async function msiProjectCreated(projectFile) {
  await writeFile(projectFile, addWerExclusion(await readFile(projectFile, 'utf8')));
}

module.exports = { default: msiProjectCreated, msiProjectCreated, addWerExclusion, WER_EXCLUDED_KEY, EXECUTABLE };
