"""Public surface of ``search.store``, loaded lazily (see ``__init__.py``)."""

from ._artifacts import open_artifact_store, upload_study_files
from ._atomic import save_state_dict, write_json, write_text
from ._paths import (
    BEST_STUDY,
    DEFAULT_STORAGE,
    DEFAULT_STUDY,
    artifacts_dir,
    results_root,
    study_dir,
    study_name_problem,
)
from ._storage import (
    check_can_create,
    check_folder_writable,
    is_new_sqlite_file,
    load_study,
    mask_url,
    open_storage,
    parse_storage_url,
    sqlite_path,
    study_names,
)
from ._trial_record import (
    BEST_VAL_ACC,
    CONFIG,
    DEVICE,
    ENERGY_ATTR,
    ENERGY_FIELD,
    EPOCHS_RUN,
    HISTORY,
    NEURON_KERNEL,
    PARAMETERS,
    REASON,
    RETRY_OF,
    THESIS_PRESET,
    TrialRecord,
    VERSIONS,
    WORKER,
    is_thesis,
    record_result,
    thesis_preset_of,
)

__all__ = ["BEST_STUDY", "BEST_VAL_ACC", "CONFIG", "DEFAULT_STORAGE", "DEFAULT_STUDY", "DEVICE", "ENERGY_ATTR", "ENERGY_FIELD", "EPOCHS_RUN", "HISTORY", "NEURON_KERNEL", "PARAMETERS", "REASON", "RETRY_OF", "THESIS_PRESET", "TrialRecord", "VERSIONS", "WORKER", "artifacts_dir", "check_can_create", "check_folder_writable", "is_new_sqlite_file", "is_thesis", "load_study", "mask_url", "open_artifact_store", "open_storage", "parse_storage_url", "record_result", "results_root", "save_state_dict", "sqlite_path", "study_dir", "study_name_problem", "study_names", "thesis_preset_of", "upload_study_files", "write_json", "write_text"]
