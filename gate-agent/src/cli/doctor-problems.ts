import type { ProblemText } from './doctor-report.js';

/**
 * Every check `gatectl doctor` and `kioskctl doctor` run, and every problem they can report,
 * with its fix. The one place these words live: the checks fill in the {placeholders}, and
 * docs/doctor.md's table is generated from here (kiosk-agent/scripts/doctor-doc.mjs).
 * {unit} is stile-gate or stile-kiosk, {ctl} gatectl or kioskctl, {config} the config file,
 * {user} the daemon's user (default stile).
 */

export interface CheckText {
  /** What the check looks at. */
  what: string;
  roles: readonly ('gate' | 'kiosk')[];
}

export const CHECKS: Record<string, CheckText> = {
  config: { what: 'the config file passes validation; secret files (key, password, certificate key) exist, are readable by the daemon\'s user and not by everyone', roles: ['gate', 'kiosk'] },
  'device:<name>': { what: 'each configured input, relay, lane device (gate) or printer, cash line, scanner, ID reader (kiosk) is present, readable and writable by the daemon\'s user (group membership, the node\'s owner and mode) and answering: the running daemon\'s own view, or opened briefly when it is stopped (a GA/T 467 reader is sent a find-card request)', roles: ['gate', 'kiosk'] },
  relay: { what: 'with --relay only: one pulse on the relay, as an admission gives (the daemon must be stopped: it holds the port)', roles: ['gate'] },
  clock: { what: 'NTP synchronised (timedatectl, systemd-timesyncd, chrony); the clock against the cloud\'s HTTP Date header (±60 s); a jump back (entries recorded later than now); a year before 2025', roles: ['gate', 'kiosk'] },
  disk: { what: 'free space on the store\'s filesystem (fail under 5 % or 200 MB, warn under 10 % or under the database size + 200 MB); the filesystem not read-only; the store directory writable by the daemon\'s user', roles: ['gate', 'kiosk'] },
  database: { what: 'PRAGMA quick_check on a read-only connection; the schema version is one this version knows', roles: ['gate', 'kiosk'] },
  wal: { what: 'the size of the database\'s -wal file (warn above 64 MB)', roles: ['gate', 'kiosk'] },
  broker: { what: 'a connection to the configured broker with its TLS CA and the device\'s username/password file, and a granted subscription; CONNACK refusals in words (no mqtt section: an offline device, passes)', roles: ['gate', 'kiosk'] },
  snapshot: { what: 'the cloud\'s snapshot URL answers the gate\'s credential, and what it sends is signed by a trusted control key (the first 1 MB only: the snapshot itself when it is that small, else the newest signed delta or the signed ticket types)', roles: ['gate'] },
  whitelist: { what: 'the local whitelist seq against the cloud\'s head seq (the snapshot\'s x-stile-as-of-seq, or the retained head on the broker), and its age on an offline gate', roles: ['gate'] },
  keys: { what: 'offline-ticket and control keys: expired (fail) or expiring within 30 days (warn); control keys present with mqtt; the running daemon has the config\'s keys; the kiosk\'s own signing key file', roles: ['gate', 'kiosk'] },
  outbox: { what: 'events waiting for the cloud: depth and age of the oldest (warn above 1000 or 10 minutes, fail when full)', roles: ['gate', 'kiosk'] },
};

const RESTART = 'then `systemctl restart {unit}`';
const NEW_CREDENTIAL = 'the cloud refused this device\'s credential (user {username}; wrong password or revoked): have the cloud administrator rotate it (`stile-cloud gates rotate …` / `kiosks rotate …`) and apply the new bundle with `{ctl} provision <bundle>`';

export const PROBLEMS = {
  'config.unreadable': { check: 'config', status: 'fail', means: 'the config file is missing or cannot be read; the daemon does not start', fix: 'check the path (--config, the environment variable, /etc/stile/); a new device is set up with `{ctl} provision <bundle>`' },
  'config.invalid': { check: 'config', status: 'fail', means: 'the config file does not pass validation; the daemon refuses to start', fix: `correct each field named (file: field: what was expected) in {config}, ${RESTART}` },
  'config.secret_missing': { check: 'config', status: 'fail', means: 'a key, password or certificate file the config names does not exist; the daemon fails when it needs it', fix: 'restore {file} (it came with the provisioning bundle: `{ctl} provision <bundle>` writes it again) or correct its path in {config}' },
  'config.world_readable': { check: 'config', status: 'fail', means: 'a secret file is readable by every user on the machine', fix: '`chown root:{user} {file} && chmod 0640 {file}`' },
  'config.unreadable_by_user': { check: 'config', status: 'fail', means: 'the daemon\'s user cannot read a file it needs; the daemon fails at start', fix: `\`chown root:{user} {file} && chmod 0640 {file}\`, ${RESTART}` },
  'config.user_missing': { check: 'config', status: 'warn', means: 'the daemon\'s user does not exist on this machine, so file and device access could not be checked for it', fix: 'install Stile as docs/install.md says (it creates the user {user}), or name the user the daemon runs as with --user' },

  'device.missing': { check: 'device', status: 'fail', means: 'the device is not there: unplugged, no power, or a wrong path in the config', fix: 'plug it in (USB cable, power); `{ctl} devices` lists what is connected — if it shows under another name, put that path (best a /dev/serial/by-id/… name) in {config}' },
  'device.no_group': { check: 'device', status: 'fail', means: 'the daemon\'s user is not in the group that may use this device; the daemon cannot open it', fix: `\`usermod -aG {group} {user}\`, ${RESTART}` },
  'device.node_mode': { check: 'device', status: 'fail', means: 'the device node\'s owner, group or mode lets the daemon\'s user neither read nor write it', fix: 'install Stile\'s udev rules (docs/install.md: the node becomes group dialout/plugdev/gpio, mode 0660), then unplug and replug the device' },
  'device.fault': { check: 'device', status: 'fail', means: 'the running daemon reports the device not working (disconnected, not answering)', fix: 'check the cable and the device\'s power; the daemon reopens it by itself — `{ctl} status` shows when it is back' },
  'device.wrong_mode': { check: 'device', status: 'fail', means: 'a USB HID scanner is still in keyboard mode', fix: 'scan the scanner\'s "USB HID POS" set-up code from its manual (docs/scanners.md lists them per brand)' },
  'device.starting': { check: 'device', status: 'warn', means: 'the daemon has only just started and is still opening the device', fix: 'run `{ctl} doctor` again in a few seconds' },
  'device.busy': { check: 'device', status: 'fail', means: 'another program holds the port', fix: 'find it with `fuser -v {path}` and stop it (a second daemon, a serial terminal)' },
  'device.silent': { check: 'device', status: 'fail', means: 'the port opens but the device does not answer', fix: 'check the device\'s power, the baud rate in {config} (GA/T 467 readers: usually 115200) and that this port is the device\'s and not another\'s' },
  'device.open_failed': { check: 'device', status: 'fail', means: 'the port could not be opened', fix: 'read the error; `dmesg | tail` shows USB trouble (a hub without power, a failing cable)' },

  'relay.daemon_running': { check: 'relay', status: 'warn', means: 'the daemon holds the relay\'s port, so it was not pulsed', fix: '`systemctl stop {unit}`, `{ctl} doctor --relay`, `systemctl start {unit}`' },
  'relay.failed': { check: 'relay', status: 'fail', means: 'the relay did not switch', fix: 'check the relay board\'s USB cable and power and its channel in {config}; `{ctl} test-relay` pulses it again (listen for the click)' },

  'clock.implausible': { check: 'clock', status: 'fail', means: 'the clock is far in the past (a board without a battery clock that has not reached NTP): every ticket is refused as not yet valid', fix: '`timedatectl set-ntp true` and connect the network (a Raspberry Pi without an RTC needs it at every boot), or set the time by hand: `timedatectl set-time "YYYY-MM-DD HH:MM:SS"`' },
  'clock.off': { check: 'clock', status: 'fail', means: 'the clock differs from the cloud\'s by more than 60 s: timed tickets are refused or admitted at the wrong minutes, and TLS certificates may look invalid', fix: '`timedatectl set-ntp true`; make sure the NTP server is reachable (UDP port 123; `timedatectl timesync-status`); then run `{ctl} doctor` again' },
  'clock.not_synced': { check: 'clock', status: 'warn', means: 'NTP is not synchronised: the clock drifts, and after a few days timed tickets are refused', fix: '`timedatectl set-ntp true`; make sure the NTP server is reachable (UDP port 123; `timedatectl timesync-status`; a park without internet needs a local NTP server)' },
  'clock.unknown': { check: 'clock', status: 'warn', means: 'whether NTP is synchronised could not be told (no timedatectl, systemd-timesyncd or chrony answering)', fix: 'install or enable an NTP client (`systemctl enable --now systemd-timesyncd` or chrony) so the clock stays right' },
  'clock.jump_back': { check: 'clock', status: 'warn', means: 'the database holds records later than now: the clock went back (or was ahead when they were written)', fix: 'compare `date` with a phone; if it is wrong now, fix NTP (see clock.off); if it was wrong before, those records carry the wrong time' },

  'disk.full': { check: 'disk', status: 'fail', means: 'almost no space left: new entries or sales cannot be recorded and a whitelist resync cannot download', fix: 'free space: `du -xh {dir} /var/log | sort -h | tail`, remove old backups and logs (`journalctl --vacuum-size=50M`); never delete the database or its -wal file' },
  'disk.low': { check: 'disk', status: 'warn', means: 'space is getting short: the next whitelist resync (a download as large as the database) may not fit', fix: 'free space as for disk.full, or move the data to a larger card' },
  'disk.read_only': { check: 'disk', status: 'fail', means: 'the filesystem holding the data is read-only (the kernel does this after SD card errors): nothing can be recorded', fix: '`dmesg | grep -i -e ext4 -e mmc` shows why; reboot (the filesystem is checked at boot); if it happens again, copy {dir} off and replace the SD card' },
  'disk.no_write': { check: 'disk', status: 'fail', means: 'the daemon\'s user cannot write in the data directory', fix: '`chown {user}:{user} {dir} && chmod 0750 {dir}`' },
  'disk.missing_dir': { check: 'disk', status: 'fail', means: 'the data directory does not exist', fix: '`install -d -o {user} -g {user} -m 0750 {dir}`' },

  'database.missing': { check: 'database', status: 'fail', means: 'there is no database yet', fix: 'start {unit} once (it creates the file); {rebuild}' },
  'database.corrupt': { check: 'database', status: 'fail', means: 'the database is damaged or not a database (a power cut on a bad SD card, a copied half file)', fix: '`systemctl stop {unit}`; keep the damaged file for recovery: `mv {file} {file}.damaged` (and its -wal and -shm files); then {rebuild}' },
  'database.newer_schema': { check: 'database', status: 'fail', means: 'the database was written by a newer version of Stile; this version refuses it', fix: 'install the version that wrote it again (`/opt/stile/current` → the newer version), or restore the database from the backup taken before the upgrade' },
  'database.unreadable': { check: 'database', status: 'fail', means: 'the database cannot be opened', fix: 'check the file\'s owner ({user}) and mode (0600) and the disk (`dmesg | tail`)' },

  'wal.large': { check: 'wal', status: 'warn', means: 'the write-ahead log is not being folded back into the database: usually a reader holding it open for a long time (an `entries tail --follow` left running, a slow backup); it wears the SD card and slows the next start', fix: `stop long-running readers of {file}, ${RESTART} (it folds the log back in)` },

  'broker.file': { check: 'broker', status: 'fail', means: 'a file the broker connection needs (password, CA, certificate, key) cannot be read', fix: 'restore {file} (`{ctl} provision <bundle>` writes it again) or correct its path in {config}' },
  'broker.bad_credentials': { check: 'broker', status: 'fail', means: 'the broker refused the login (wrong password, revoked device, or not authorised)', fix: NEW_CREDENTIAL },
  'broker.client_id': { check: 'broker', status: 'fail', means: 'the broker refused the MQTT client id', fix: 'remove mqtt.clientId from {config} (the default `stile-<site>-<device>` is what the broker allows)' },
  'broker.protocol': { check: 'broker', status: 'fail', means: 'the broker does not speak the MQTT version configured', fix: 'set `protocolVersion: 4` under mqtt/sync in {config} (MQTT 3.1.1, e.g. the cloud\'s embedded broker), restart {unit}' },
  'broker.unavailable': { check: 'broker', status: 'fail', means: 'the broker answered but will not take connections now (overloaded, shutting down, banned, rate limit)', fix: 'look at the broker on the server (`systemctl status mosquitto` or stile-cloud\'s log); it names the reason {reason}' },
  'broker.unreachable': { check: 'broker', status: 'fail', means: 'the broker could not be reached: no network, wrong address, or a firewall', fix: 'check {url}: the network cable/Wi-Fi, DNS (`getent hosts {host}`), that the port {port} is open (`nc -vz {host} {port}`)' },
  'broker.tls': { check: 'broker', status: 'fail', means: 'the TLS handshake failed: the broker\'s certificate is not trusted by mqtt.caFile, names another host, or the clock is wrong', fix: 'copy the CA file from the provisioning bundle to {caFile}, use the host name the certificate names, and check the clock check' },
  'broker.not_subscribed': { check: 'broker', status: 'fail', means: 'connected, but the broker refuses the device\'s subscriptions (its ACL): no deltas, commands or receipts arrive', fix: 'give {username} read access to {topic} in the broker\'s ACL (docs/mqtt-security.md has the tested one)' },

  'snapshot.not_configured': { check: 'snapshot', status: 'warn', means: 'no mqtt.snapshotUrl: after missed deltas the gate cannot fetch the whitelist again', fix: 'set mqtt.snapshotUrl in {config} to the cloud\'s https:// address' },
  'snapshot.unreachable': { check: 'snapshot', status: 'fail', means: 'the cloud\'s HTTP API could not be reached', fix: 'check {url} from this machine (`curl -sI {url}`), DNS, firewall and proxy' },
  'snapshot.refused': { check: 'snapshot', status: 'fail', means: 'the cloud refused the gate\'s credential', fix: NEW_CREDENTIAL },
  'snapshot.http': { check: 'snapshot', status: 'fail', means: 'the cloud answered with an error', fix: '404: the cloud does not know site {site} (check site.id in {config} and the cloud\'s sites); 5xx: look at the cloud\'s /healthz and log' },
  'snapshot.invalid': { check: 'snapshot', status: 'fail', means: 'what the snapshot URL sends is not a Stile whitelist snapshot for this site', fix: 'mqtt.snapshotUrl must be the cloud\'s base address (https://host[:port], no path) and site.id the cloud\'s id for this park' },
  'snapshot.bad_signature': { check: 'snapshot', status: 'fail', means: 'the cloud\'s documents are not signed by a control key this gate trusts: the gate refuses every delta, command and snapshot', fix: 'put the site\'s current control public key in keys.control in {config} (after a key rotation on the cloud: apply a new provisioning bundle), restart {unit}' },
  'snapshot.unverified': { check: 'snapshot', status: 'warn', means: 'the cloud answered, but no signed document was small enough to check here', fix: 'nothing, if the gate\'s log shows no `bad_signature` drops; `gatectl restore` downloads and verifies the whole snapshot' },

  'whitelist.empty': { check: 'whitelist', status: 'fail', means: 'the gate has no whitelist: every ST1 code and ID card is refused', fix: 'load it: `gatectl restore` (from the cloud) or `gatectl tickets import <snapshot>`; a connected gate also fetches it by itself' },
  'whitelist.behind': { check: 'whitelist', status: 'warn', means: 'the gate\'s whitelist is behind the cloud: tickets sold since are refused here', fix: 'a connected gate catches up by itself within a minute (the broker and snapshot checks must pass); to force it: `gatectl restore`' },
  'whitelist.ahead': { check: 'whitelist', status: 'warn', means: 'the gate\'s whitelist is newer than the cloud\'s: this is another cloud (a cloud restored from a backup moves its seq far ahead, so its gates are behind, not ahead)', fix: 'check the cloud address in {config}; `gatectl restore` takes the cloud\'s whitelist as it is now' },
  'whitelist.stale': { check: 'whitelist', status: 'warn', means: 'an offline gate\'s whitelist was imported long ago: tickets sold since are refused', fix: 'import a fresh snapshot: `gatectl tickets import <file>`' },
  'whitelist.head_unknown': { check: 'whitelist', status: 'warn', means: 'the cloud\'s head seq could not be learned, so the gate\'s whitelist could not be compared with it', fix: 'see the broker and snapshot checks' },

  'keys.expired': { check: 'keys', status: 'fail', means: 'a key is past its notAfter date: offline codes it signed are refused (offline key), or every delta and command is (control key)', fix: 'remove a key that was rotated out from {config}; otherwise add the new key the cloud administrator gives you (docs/kiosk-offline.md), restart {unit}' },
  'keys.expiring': { check: 'keys', status: 'warn', means: 'a key expires within 30 days', fix: 'ask the cloud administrator for its successor and add it to {config} before {date}' },
  'keys.no_control': { check: 'keys', status: 'fail', means: 'the device talks to the cloud but has no control key to check what the cloud sends', fix: 'add the site\'s control public key to {config} (it is in the provisioning bundle)' },
  'keys.restart': { check: 'keys', status: 'warn', means: 'the config\'s keys differ from those the running daemon loaded', fix: RESTART.replace('then ', '') },
  'keys.invalid': { check: 'keys', status: 'fail', means: 'a public key in the config cannot be read; the daemon refuses to start', fix: 'copy the key again exactly as given (base64 of 32 bytes, or the whole PEM block) into {config}' },
  'keys.signing_key': { check: 'keys', status: 'fail', means: 'the kiosk\'s own offline signing key cannot be used: offline cash sales are impossible', fix: 'restore {file} from the provisioning bundle (`kioskctl provision <bundle>`), mode 0640 root:{user}' },

  'outbox.full': { check: 'outbox', status: 'fail', means: 'the outbox is over mqtt.outboxMax: the cloud has not taken events for a long time (the device keeps working and loses nothing)', fix: 'fix the link first (broker check); it drains by itself at a few hundred events a second' },
  'outbox.backlog': { check: 'outbox', status: 'warn', means: 'events are waiting for the cloud: the link is down or slow (nothing is lost; they are sent when it is back)', fix: 'see the broker check; `{ctl} status` shows the cloud link' },

  'doctor.needs_database': { check: 'whitelist, outbox', status: 'warn', means: 'not checked: the database could not be read', fix: 'fix what the database check reports first' },
} as const satisfies Record<string, ProblemText>;

export type ProblemKey = keyof typeof PROBLEMS;
