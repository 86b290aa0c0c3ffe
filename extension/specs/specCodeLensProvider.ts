// "Run", "Estimate" and "Preview" above the spec in every `*.drover.json`, on the line of
// its opening brace.
import * as vscode from 'vscode';

export class SpecCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const text = document.getText();
    const brace = text.indexOf('{');
    const line = brace < 0 ? 0 : document.positionAt(brace).line;
    const range = new vscode.Range(line, 0, line, 0);
    return [
      new vscode.CodeLens(range, { title: '$(play) Run', command: 'drover.runJobFile', arguments: [document.uri], tooltip: 'Start (or resume) this job in the Drover daemon' }),
      new vscode.CodeLens(range, { title: '$(symbol-number) Estimate', command: 'drover.estimateCost', arguments: [document.uri], tooltip: 'Tokens, requests, cost and duration before running' }),
      new vscode.CodeLens(range, { title: '$(preview) Preview', command: 'drover.previewRecords', arguments: [document.uri], tooltip: 'The first records as the model will see them' }),
    ];
  }
}
