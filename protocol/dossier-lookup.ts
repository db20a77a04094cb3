// The lookup station and the dossier-status board on the box's MQTT (issue 15). The box answers from the
// cloud's box-authenticated dossier routes (cloud-api.ts) and keeps their answers, so both screens work
// through a short internet outage and say how old what they show is.
import { Type, type Static } from '@sinclair/typebox';
import { DossierBoard, DossierLookupAnswer } from './cloud-api.js';
import { DOSSIER_CODE_MAX_CHARS } from './limits.js';

/** Lookup station → box on `lobby/v1/dossiers/lookup`: the code scanned from a receipt, or typed. */
export const DossierLookupRequest = Type.Object(
  {
    id: Type.String({
      minLength: 1,
      maxLength: 64,
      description: "Sender's correlation id, echoed in the reply",
    }),
    code: Type.String({ minLength: 1, maxLength: DOSSIER_CODE_MAX_CHARS, description: 'Dossier code' }),
  },
  { additionalProperties: false },
);
export type DossierLookupRequest = Static<typeof DossierLookupRequest>;

/** The reply's `data` to a lookup: the dossier, and how old the answer is. */
export const DossierLookupResult = Type.Object({
  dossier: DossierLookupAnswer,
  fetchedAt: Type.String({ description: 'When the box had this answer from the cloud (ISO 8601, UTC)' }),
  ageSeconds: Type.Integer({ minimum: 0, description: 'How old the answer is, by the box clock' }),
  fromCache: Type.Boolean({ description: 'Answered from the box cache, not asked of the cloud now' }),
  cloudReachable: Type.Boolean({
    description: 'false: the cloud could not be asked now; the answer is the last one the box had',
  }),
});
export type DossierLookupResult = Static<typeof DossierLookupResult>;

export const BOARD_CLOUD_STATES = ['ok', 'unreachable', 'not_enrolled'] as const;

/**
 * `lobby/v1/state/dossiers`, retained, published by the box after every poll of the cloud: the last board it
 * had (kept across a restart) and its age. The board screen shows `board` and how old it is.
 */
export const DossierBoardState = Type.Object({
  board: Type.Union([DossierBoard, Type.Null()], { description: 'null: the box never had one' }),
  fetchedAt: Type.Union([Type.String(), Type.Null()], { description: 'When the box had `board`' }),
  ageSeconds: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: "`board`'s age when this message was published, by the box clock",
  }),
  cloud: Type.Union(
    BOARD_CLOUD_STATES.map((s) => Type.Literal(s)),
    { description: 'The last poll: answered, or not (the board is then the last one the box had)' },
  ),
  checkedAt: Type.String({ description: 'When the box last asked the cloud' }),
});
export type DossierBoardState = Static<typeof DossierBoardState>;
