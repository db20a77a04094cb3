// The simulator's satisfaction index means what the cloud's reports mean by it (issue 13): the share of
// ratings at Hài lòng or Rất hài lòng on the five-level scale, whatever the device's scale.
import { describe, expect, it } from 'vitest';
import { dayKpis, type DayObservation, type TicketRecord } from '../../hardware-sim/office-day/index.js';

/** A day whose only content is finished tickets with these ratings, on a scale of `scaleMax`. */
function day(scaleMax: number, ratings: number[]): DayObservation {
  const tickets = ratings.map(
    (rating, i) =>
      ({
        ticketId: `t${i}`,
        number: `A${i}`,
        issuedService: 'van-thu',
        service: 'van-thu',
        state: 'finished',
        issuedAt: 0,
        firstCalledAt: 60_000,
        serviceStartAt: 60_000,
        finishedAt: 120_000,
        transfers: 0,
        returned: false,
        rating,
        foreign: false,
      }) as unknown as TicketRecord,
  );
  return {
    dayStart: 0,
    dayEnd: 3_600_000,
    citizens: ratings.length,
    tickets,
    refused: {},
    events: {},
    errors: {},
    scaleMax,
  } as DayObservation;
}

describe('the simulator’s satisfaction index', () => {
  it('on a five-level tablet, counts Hài lòng and Rất hài lòng, not Bình thường', () => {
    const k = dayKpis(day(5, [1, 2, 3, 4, 5, 5]));
    expect(k.ratings.levels).toEqual([1, 1, 1, 1, 2]);
    expect(k.ratings.satisfactionIndex).toBe(50);
  });

  it('on a 4-button box (Không hài lòng … Rất hài lòng), counts its top two', () => {
    const k = dayKpis(day(4, [1, 2, 3, 4]));
    expect(k.ratings.levels).toEqual([0, 1, 1, 1, 1]);
    expect(k.ratings.satisfactionIndex).toBe(50);
  });
});
