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

  it('a lookup station is told plainly what went wrong: the code not found, no answer at all, how long to wait', () => {
    expect(errorBody('dossier_not_found', { code: '000.00.04.H12-261205-0999' }).message.vi).toBe(
      'Không tìm thấy hồ sơ có mã "000.00.04.H12-261205-0999". Vui lòng kiểm tra lại mã trên giấy biên nhận hoặc hỏi cán bộ.',
    );
    expect(errorBody('lookup_unavailable', { code: 'X' }).message.vi).toContain('không kết nối được');
    expect(errorBody('lookup_rate_limited', { max: 20, seconds: 41 }).message.vi).toBe(
      'Máy tra cứu này đã tra quá 20 lần trong một phút. Vui lòng chờ 41 giây rồi thử lại.',
    );
  });
});
