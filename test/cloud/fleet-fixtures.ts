// The configuration twin's documents the fleet suites share: a province's template (hours, two services, one
// counter) and one commune office's overrides (its name, a second counter).
export const PROVINCE_TEMPLATE = {
  office: {
    sessions: [
      { open: '07:30', close: '11:30' },
      { open: '13:30', close: '17:00' },
    ],
  },
  services: [
    { id: 'ho-tich', name: 'Hộ tịch', numbering: { prefix: 'A', width: 3 } },
    { id: 'dat-dai', name: 'Đất đai', numbering: { prefix: 'B', width: 3 } },
  ],
  counters: [{ number: 1, services: ['ho-tich', 'dat-dai'] }],
};

export const HKB_OVERRIDES = {
  office: { name: 'Bộ phận một cửa phường Hòa Khánh Bắc' },
  counters: [
    { number: 1, services: ['ho-tich'] },
    { number: 2, name: 'Quầy đất đai', services: ['dat-dai'] },
  ],
};
