// "Run Analysis…": the wizard, then the job it saved is started and its dashboard opened.
import * as vscode from 'vscode';
import type { EstimateStore } from '../jobs/estimateStore';
import { runAnalysisWizard, type WizardServices } from '../runAnalysis/runAnalysisWizard';
import type { ErrorReporter } from './errorReporter';
import { startSpecFile, type SpecCommandServices } from './specCommands';

export function registerAnalysisCommand(wizard: WizardServices, spec: SpecCommandServices, estimates: EstimateStore, reporter: ErrorReporter): vscode.Disposable {
  return vscode.commands.registerCommand('drover.runAnalysis', async () => {
    try {
      const result = await runAnalysisWizard(wizard);
      if (!result) return undefined;
      const file = vscode.workspace.asRelativePath(result.specUri);
      if (!result.start) {
        void vscode.window.showInformationMessage(`Saved ${file}. Run it with "Drover: Run Job File" (or the Run lens above the spec).`, 'Open').then((choice) => {
          if (choice) void vscode.window.showTextDocument(result.specUri);
        });
        return { specUri: result.specUri, jobId: undefined };
      }
      // Kept before the start, so the dashboard's first snapshot already has it.
      if (result.estimate) await estimates.set(result.estimate.jobId, result.estimate);
      const jobId = await startSpecFile(result.specUri, spec);
      return { specUri: result.specUri, jobId };
    } catch (error) {
      void reporter.report('Run Analysis', error);
      return undefined;
    }
  });
}
