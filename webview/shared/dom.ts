// Small DOM helpers for views that build their elements once and then only change text and
// attributes that actually differ, so 10 updates a second cost next to nothing.

interface ElementOptions {
  className?: string;
  text?: string;
  attributes?: Record<string, string>;
}

export function element<Tag extends keyof HTMLElementTagNameMap>(
  tag: Tag,
  options: ElementOptions = {},
  children: readonly Node[] = [],
): HTMLElementTagNameMap[Tag] {
  const node = document.createElement(tag);
  if (options.className !== undefined) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  for (const [name, value] of Object.entries(options.attributes ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export function button(label: string, className = 'secondary'): HTMLButtonElement {
  return element('button', { className, text: label, attributes: { type: 'button' } });
}

export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

export function setAttribute(node: Element, name: string, value: string | null): void {
  if (value === null) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== value) {
    node.setAttribute(name, value);
  }
}

/** A percentage width through the CSSOM, which the CSP allows (a style attribute it would not). */
export function setWidthPercent(node: HTMLElement, percent: number): void {
  const value = `${clampPercent(percent).toFixed(2)}%`;
  if (node.style.width !== value) node.style.width = value;
}

export function setLeftPercent(node: HTMLElement, percent: number): void {
  const value = `${clampPercent(percent).toFixed(2)}%`;
  if (node.style.left !== value) node.style.left = value;
}

function clampPercent(percent: number): number {
  return Math.min(100, Math.max(0, Number.isFinite(percent) ? percent : 0));
}

/** Reads a theme colour VS Code sets as a CSS variable, with a fallback outside VS Code. */
export function themeColor(variable: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(variable).trim() || fallback;
}

/** Calls `changed` when VS Code switches the theme (it restyles <html> and reclasses <body>). */
export function onThemeChange(changed: () => void): void {
  const observer = new MutationObserver(changed);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
}

/** A titled region of the page; screen readers list it by its heading. */
export function titledSection(id: string, title: string, className: string): { section: HTMLElement; heading: HTMLHeadingElement } {
  const heading = element('h2', { text: title, attributes: { id: `${id}-title` } });
  const section = element('section', { className, attributes: { 'aria-labelledby': heading.id } }, [heading]);
  return { section, heading };
}
