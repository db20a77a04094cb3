// A Stryker ignorer (Stryker's own plugin API): mutants inside a statement that only writes a log line
// (`log.info(…)`, `this.log.warn(…)`, `this.o.log?.error(…)`) are not run. What a log line says is for the
// person reading the box's journal, not behaviour a device, a citizen or an admin sees, and every earlier run
// listed such survivors as equivalent one by one (results/*.md). Their count is in each module's results.
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const LOGGERS = new Set(['log', 'logger']);

/** The name a member chain ends with: `log` for `log`, `this.log`, `this.o.log`. */
function lastName(node) {
  if (node.type === 'Identifier') return node.name;
  if ((node.type === 'MemberExpression' || node.type === 'OptionalMemberExpression') && !node.computed)
    return node.property.type === 'Identifier' ? node.property.name : undefined;
  return undefined;
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'log-lines', {
    shouldIgnore(path) {
      if (!path.isExpressionStatement()) return undefined;
      const call = path.node.expression;
      if (call.type !== 'CallExpression' && call.type !== 'OptionalCallExpression') return undefined;
      const callee = call.callee;
      if (callee.type !== 'MemberExpression' && callee.type !== 'OptionalMemberExpression') return undefined;
      if (!LEVELS.has(lastName(callee) ?? '') || !LOGGERS.has(lastName(callee.object) ?? ''))
        return undefined;
      return 'a log line: what the box or cloud writes to its journal, not what a device, citizen or admin sees';
    },
  }),
];
