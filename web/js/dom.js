// Small DOM helpers. Elements are built with textContent, never innerHTML, so nothing that came
// from the API or a person is ever parsed as markup.

import { sentenceCase } from './words.js';

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $all(selector, root = document) {
  return [...root.querySelectorAll(selector)];
}

// el('a', {href: '/x', class: 'button'}, 'text', otherNode). Attributes whose value is false,
// null or undefined are left out; true gives an empty attribute.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function replaceChildren(node, ...children) {
  node.replaceChildren();
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// The API names fields as the data map does (e.g. "address"); a form control answers to that name
// through its name attribute or, for controls that must not be submitted, data-field.
function controlFor(form, field) {
  if (!field) return null;
  return form.querySelector(`[name="${CSS.escape(field)}"], [data-field="${CSS.escape(field)}"]`);
}

export function clearErrors(form) {
  for (const node of $all('.field-error, .form-error', form)) node.remove();
  for (const node of $all('[aria-invalid="true"]', form)) {
    node.removeAttribute('aria-invalid');
    node.removeAttribute('aria-errormessage');
  }
}

// Some messages continue the field's name ("is not a valid card number"): lead with the label.
// Others merely start in lower case; those get a capital.
function withLabel(control, message) {
  const label = control.labels && control.labels[0] ? control.labels[0].textContent.trim() : '';
  if (label && /^(is|are|must|has|have|should|cannot|does|was) /.test(message)) return `${label} ${message}`;
  return message.charAt(0).toUpperCase() + message.slice(1);
}

// Shows an error next to the control it names (and focuses it), or at the top of the form when
// it names none the form has. An error naming several fields (error.errors) shows each beside its
// control, focusing the first. Returns the element holding the (first) message.
export function showError(form, error) {
  const all = error && Array.isArray(error.errors) && error.errors.length > 1 ? error.errors : [error];
  const notes = all.map((one) => showOneError(form, one));
  const first = notes.find((note) => note.classList.contains('field-error'));
  const control = first && form.querySelector(`[aria-errormessage="${CSS.escape(first.id)}"]`);
  if (control) control.focus();
  return notes[0];
}

function showOneError(form, error) {
  const message = error && error.message ? error.message : String(error);
  const control = controlFor(form, error && error.field);
  if (control) {
    const id = `${control.id || control.name || 'field'}-error`;
    const note = el('p', { class: 'field-error', id, role: 'alert' }, withLabel(control, message));
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-errormessage', id);
    // Inside its field, under the control and its hint, so that fields side by side keep theirs.
    const field = control.closest('.field');
    if (field) field.append(note);
    else (control.closest('.check') || control).after(note);
    return note;
  }
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  const label = error && error.field ? `${sentenceCase(error.field)}: ${text}` : text;
  const note = el('p', { class: 'form-error', role: 'alert' }, label);
  form.prepend(note);
  return note;
}

// A status line (role=status) under a form or section; `kind` is 'ok' or 'error'.
export function say(container, text, kind = 'ok') {
  let line = $(':scope > .form-ok, :scope > .notice-error', container);
  if (!line) {
    line = el('p', { role: kind === 'ok' ? 'status' : 'alert' });
    container.append(line);
  }
  line.className = kind === 'ok' ? 'form-ok' : 'notice-error';
  line.textContent = text;
  return line;
}

// Times arrive as microseconds since the epoch (*_at_us) or as ISO 8601 text.
export function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return new Date(value > 1e14 ? value / 1000 : value);
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatTime(value) {
  const date = toDate(value);
  return date ? date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '—';
}

export function formatDate(value) {
  const date = toDate(value);
  return date ? date.toLocaleDateString(undefined, { dateStyle: 'medium' }) : '—';
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined || ms === '') return '—';
  const seconds = Math.round(Number(ms) / 1000);
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

// The values of a form's named controls as an object of trimmed strings; checkboxes as booleans.
export function formValues(form) {
  const values = {};
  for (const control of form.elements) {
    if (!control.name || control.disabled) continue;
    if (control.type === 'checkbox') values[control.name] = control.checked;
    else if (control.type !== 'submit' && control.type !== 'button') values[control.name] = control.value.trim();
  }
  return values;
}

// Runs `work` with the form's submit button disabled, clearing earlier errors first; an error it
// throws is shown next to the field it names.
export async function submitting(form, work) {
  clearErrors(form);
  const buttons = $all('button[type="submit"], button:not([type])', form);
  for (const b of buttons) b.disabled = true;
  try {
    return await work();
  } catch (error) {
    showError(form, error);
    return undefined;
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}
