// The JSON editor of a unit's template and an office's overrides: the document as text, saved with the revision it
// was read at (a colleague's save meanwhile is a clear 409, never silently undone), the field errors listed by
// field. Viewers get the text read-only and no save button (the API refuses them anyway).
import { $, esc, failureText, getJson, isAdmin } from './lib.js';

/**
 * The editor's HTML; `bindEditor` gives it life once it is in the page.
 * @param {{id: string, label: string, hint: string, document: unknown, revision: number}} o
 */
export function editorHtml(o) {
  const admin = isAdmin();
  return `<div class="editor" id="${esc(o.id)}" data-revision="${o.revision}">
    <label for="${esc(o.id)}-text">${esc(o.label)}</label>
    <p class="hint" id="${esc(o.id)}-hint">${esc(o.hint)}</p>
    <textarea id="${esc(o.id)}-text" spellcheck="false" rows="14" aria-describedby="${esc(o.id)}-hint ${esc(o.id)}-msg"${
      admin ? '' : ' readonly'
    }>${esc(JSON.stringify(o.document, null, 2))}</textarea>
    ${
      admin
        ? `<div class="actions"><button type="button" class="save">Lưu</button>
           <button type="button" class="reload secondary">Tải lại</button></div>`
        : '<p class="hint">Tài khoản chỉ xem: không sửa được.</p>'
    }
    <div class="msg" id="${esc(o.id)}-msg" role="status" aria-live="polite"></div>
  </div>`;
}

/** Field errors `[{path, message}]` as a list, each item naming its field. */
export const fieldErrorsHtml = (errors) =>
  `<ul class="field-errors">${errors
    .map(
      (e) =>
        `<li data-path="${esc(e.path)}">Trường <code>${esc(e.path)}</code>: <span lang="en">${esc(e.message)}</span></li>`,
    )
    .join('')}</ul>`;

/**
 * @param {string} id
 * @param {(doc: unknown, revision: number) => Promise<string>} save answers the success message (HTML)
 * @param {() => void} reload
 */
export function bindEditor(id, save, reload) {
  const root = $(`#${id}`);
  if (!root) return;
  const msg = $(`#${id}-msg`);
  const show = (cls, html) => {
    msg.className = `msg ${cls}`;
    msg.innerHTML = html;
  };
  $('.reload', root)?.addEventListener('click', reload);
  $('.save', root)?.addEventListener('click', async () => {
    let doc;
    try {
      doc = JSON.parse($(`#${id}-text`).value);
    } catch (e) {
      show('error', `JSON không hợp lệ, chưa lưu: <span lang="en">${esc(e.message)}</span>`);
      return;
    }
    show('', 'Đang lưu…');
    try {
      show('ok', await save(doc, Number(root.dataset.revision)));
    } catch (e) {
      const errors = e.detail?.errors ?? [];
      const offices = e.detail?.offices ?? [];
      const names = offices.length
        ? await officeNames(offices.slice(0, 10).map((o) => o.officeId))
        : new Map();
      show(
        'error',
        esc(failureText(e)) +
          (errors.length ? fieldErrorsHtml(errors) : '') +
          offices
            .map(
              (o) =>
                `<p data-office="${esc(o.officeId)}">Bộ phận <strong>${esc(names.get(o.officeId) ?? o.officeId)}</strong>:</p>${fieldErrorsHtml(o.errors ?? [])}`,
            )
            .join('') +
          (e.code === 'revision_conflict'
            ? '<button type="button" class="reload-now secondary">Tải lại bản mới nhất</button>'
            : ''),
      );
      $('.reload-now', msg)?.addEventListener('click', reload);
    }
  });
}

/** The names of the offices a template would break (the refusal names them by id), the first ten of them. */
async function officeNames(ids) {
  const names = new Map();
  await Promise.all(
    ids.map(async (id) => {
      const v = await getJson(`/api/v1/health/offices/${encodeURIComponent(id)}`).catch(() => null);
      if (v) names.set(id, v.office.name);
    }),
  );
  return names;
}
