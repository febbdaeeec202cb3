export { Announcer, verifySigned, type AnnouncerOptions, type Outcome, type Refusal } from './announcer.js';
export { AnnouncerConfigSchema, loadAnnouncerConfig, LANGUAGES, SPEECH_ENGINES, type AnnouncerConfig, type Language, type Level, type LoadedConfig } from './config.js';
export { startAnnouncer, mqttOptions, clientIdOf, nextReconnectMs, type AnnouncerDaemon } from './daemon.js';
export {
  CommandSpeaker,
  DryRunSpeaker,
  SpeechError,
  AbortedError,
  planFor,
  playerArgv,
  espeakArgv,
  chooseEngine,
  which,
  missingProgram,
  type CommandSpeakerOptions,
  type EngineChoice,
  type EngineName,
  type Speaker,
  type Utterance,
} from './speech.js';
export { WasmEspeak, WASM_PACKAGE, locateWasm } from './espeak-wasm.js';
export { readWav, wavStats, encodeWav, WavError, type Wav, type WavFormat, type WavStats } from './wav.js';
