// The box's error messages as a Vietnamese reader sees them: no engine code inside a sentence.
import { describe, expect, it } from 'vitest';
import { errorBody } from '../../protocol/errors.js';

describe('error messages in words', () => {
  it("a ticket's status is said in the message's language, never as the engine's code", () => {
    const body = errorBody('ticket_not_callable', { number: 'C001', status: 'finished' });
    expect(body.message.vi).toBe('Không thể gọi số C001: số này đã phục vụ xong.');
    expect(body.message.en).toBe('Ticket C001 cannot be called: it is already served.');
    for (const status of ['called', 'serving', 'finished'])
      expect(errorBody('ticket_not_callable', { number: 'A001', status }).message.vi).not.toMatch(
        /called|serving|finished/,
      );
  });

  it('a refused dossier code comes with what a code looks like', () => {
    const body = errorBody('invalid_dossier_code', { code: 'H31.24-251206-0001' });
    expect(body.message.vi).toContain('000.00.04.H12-261122-0015');
  });
});
