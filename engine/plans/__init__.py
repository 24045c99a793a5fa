"""Plans: BPMN and DMN read in PlanFlow's dialect, checked, versioned, drafted in the browser and compared."""
