// Vietnamese number reading for voice calls: 0–999 as people say them, the irregular forms, thousands
// for number-range services, ticket numbers, and every word having a shipped clip.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { callWords, readNumber, readTicketNumber } from '../../device/drivers/voice/numbers.js';

const say = (n: number, style?: Parameters<typeof readNumber>[1]) => readNumber(n, style).join(' ');

describe('reading numbers in Vietnamese', () => {
  it.each([
    [0, 'không'],
    [1, 'một'],
    [4, 'bốn'],
    [5, 'năm'],
    [7, 'bảy'],
    [10, 'mười'],
    [11, 'mười một'], // not "mười mốt"
    [14, 'mười bốn'], // not "mười tư"
    [15, 'mười lăm'], // not "mười năm"
    [19, 'mười chín'],
    [20, 'hai mươi'],
    [21, 'hai mươi mốt'], // mốt after mươi
    [24, 'hai mươi tư'], // tư after mươi
    [25, 'hai mươi lăm'], // lăm after mươi
    [30, 'ba mươi'],
    [44, 'bốn mươi tư'],
    [55, 'năm mươi lăm'],
    [91, 'chín mươi mốt'],
    [99, 'chín mươi chín'],
    [100, 'một trăm'],
    [101, 'một trăm linh một'], // linh một, not linh mốt
    [104, 'một trăm linh bốn'], // linh bốn, not linh tư
    [105, 'một trăm linh năm'], // linh năm, not linh lăm
    [110, 'một trăm mười'],
    [111, 'một trăm mười một'],
    [115, 'một trăm mười lăm'],
    [121, 'một trăm hai mươi mốt'],
    [200, 'hai trăm'],
    [204, 'hai trăm linh bốn'],
    [345, 'ba trăm bốn mươi lăm'],
    [500, 'năm trăm'],
    [505, 'năm trăm linh năm'],
    [515, 'năm trăm mười lăm'],
    [555, 'năm trăm năm mươi lăm'],
    [624, 'sáu trăm hai mươi tư'],
    [701, 'bảy trăm linh một'],
    [999, 'chín trăm chín mươi chín'],
  ])('%i is "%s"', (n, words) => {
    expect(say(n)).toBe(words);
  });

  it('the southern style says lẻ and ngàn', () => {
    const south = { zeroTens: 'lẻ', thousand: 'ngàn' } as const;
    expect(say(105, south)).toBe('một trăm lẻ năm');
    expect(say(4001, south)).toBe('bốn ngàn không trăm lẻ một');
  });

  it.each([
    [1000, 'một nghìn'],
    [1005, 'một nghìn không trăm linh năm'],
    [1010, 'một nghìn không trăm mười'],
    [1100, 'một nghìn một trăm'],
    [4001, 'bốn nghìn không trăm linh một'],
    [4021, 'bốn nghìn không trăm hai mươi mốt'],
    [4999, 'bốn nghìn chín trăm chín mươi chín'],
    [15_000, 'mười lăm nghìn'],
    [21_024, 'hai mươi mốt nghìn không trăm hai mươi tư'],
    [999_999, 'chín trăm chín mươi chín nghìn chín trăm chín mươi chín'],
  ])('%i (a number-range service) is "%s"', (n, words) => {
    expect(say(n)).toBe(words);
  });

  it('every number 0–999 follows the rules', () => {
    for (let n = 0; n <= 999; n++) {
      const w = readNumber(n);
      const s = w.join(' ');
      // mốt and tư only right after mươi; lăm only after mười/mươi; linh only before a units digit.
      w.forEach((word, i) => {
        if (word === 'mốt' || word === 'tư') expect(w[i - 1], `${n}: ${s}`).toBe('mươi');
        if (word === 'lăm') expect(['mười', 'mươi'], `${n}: ${s}`).toContain(w[i - 1]);
        if (word === 'linh') expect(i, `${n}: ${s}`).toBe(w.length - 2);
      });
      if (n % 10 === 5 && n % 100 !== 5) expect(s.endsWith('lăm'), `${n}: ${s}`).toBe(true);
      if (n % 100 >= 1 && n % 100 <= 9 && n > 100) expect(s, `${n}`).toContain('linh');
      expect(w.filter((x) => x === 'trăm').length).toBe(n >= 100 ? 1 : 0);
    }
  });

  it('refuses what it cannot read', () => {
    expect(() => readNumber(-1)).toThrow(RangeError);
    expect(() => readNumber(1.5)).toThrow(RangeError);
    expect(() => readNumber(1_000_000)).toThrow(/0–999999/);
  });
});

describe('reading a call', () => {
  it('letters one by one, then the number without its padding zeros', () => {
    expect(readTicketNumber('A012')).toEqual(['A', 'mười', 'hai']);
    expect(readTicketNumber('B105')).toEqual(['B', 'một', 'trăm', 'linh', 'năm']);
    expect(readTicketNumber('4021')).toEqual(['bốn', 'nghìn', 'không', 'trăm', 'hai', 'mươi', 'mốt']);
    expect(readTicketNumber('AB001')).toEqual(['A', 'B', 'một']);
    expect(() => readTicketNumber('a12')).toThrow(/not a ticket number/);
  });

  it('"Mời số A012 đến quầy số 3"', () => {
    expect(callWords({ number: 'A012', counter: 3 })).toEqual([
      'mời số',
      'A',
      'mười',
      'hai',
      'đến quầy số',
      'ba',
    ]);
    expect(callWords({ number: 'C024', counter: 15 }).join(' ')).toBe(
      'mời số C hai mươi tư đến quầy số mười lăm',
    );
  });

  it('every word of every call has a shipped clip', () => {
    const tsv = readFileSync(new URL('../../assets/voice/vi/clips.tsv', import.meta.url), 'utf8');
    const tokens = new Set(
      tsv
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split('\t')[0]),
    );
    const needed = new Set<string>();
    for (let n = 0; n <= 999_999; n += n < 2000 ? 1 : 997) for (const w of readNumber(n)) needed.add(w);
    for (const w of readNumber(105, { zeroTens: 'lẻ', thousand: 'ngàn' })) needed.add(w);
    needed.add('ngàn');
    for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') needed.add(c);
    for (const w of callWords({ number: 'A1', counter: 1 })) needed.add(w);
    expect([...needed].filter((w) => !tokens.has(w))).toEqual([]);
    expect(tokens.has('chime')).toBe(true);
  });
});
