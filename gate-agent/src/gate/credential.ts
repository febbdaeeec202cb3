/**
 * What an input device hands the gate after decoding. ID numbers never get here in
 * clear: the device layer hashes them with the site key and keeps only a masked form.
 */
export type Credential =
  | { kind: 'qr'; text: string }
  | { kind: 'idcard'; idHash: string; masked: string };
