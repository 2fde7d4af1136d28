"""Per-hand labels, scores and class names from a dual-hand model's inference result.

``inference_recognizer(model, video)`` on a :class:`DualHandRecognizer` returns an
``ActionDataSample`` with ``lh_pred_label``/``lh_pred_score``/``rh_...`` (and, for
MMAction2's readers, ``pred_label = [lh, rh]``, ``pred_score = lh scores + rh scores``);
these helpers turn it into ``{'lh': {'label', 'score', 'class_name'}, 'rh': ...}``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping

from mmaction_ext.datasets.havid_dataset import read_label_map
from mmaction_ext.models.dual_hand.hand_blending import HANDS


def _per_hand(meta: Any) -> Dict[str, List[str]] | None:
    classes = meta.get('classes') if isinstance(meta, Mapping) else None
    if isinstance(classes, Mapping):
        return {h: list(classes[h]) for h in HANDS if h in classes}
    return None


def hand_classes(model: Any, checkpoint: str | None = None) -> Dict[str, List[str]]:
    """Class names per hand, from the first that has them: ``model.dataset_meta``, the
    checkpoint's ``meta.dataset_meta`` (the Runner saves the training set's metainfo,
    which holds HAViDDataset's ``label_map`` names), the test dataset's ``label_map``
    files in ``model.cfg`` (set by ``init_recognizer``). Hands without names are left out.
    """
    found = _per_hand(getattr(model, 'dataset_meta', None))
    if found is None and checkpoint is not None:
        # interop (issue #22): any checkpoint format (torch, safetensors, HF folder)
        from mmaction_ext.checkpoint.local_formats import load_any_checkpoint
        meta = load_any_checkpoint(checkpoint).get('meta') or {}
        found = _per_hand(meta.get('dataset_meta'))
    if found is not None:
        return found
    cfg = getattr(model, 'cfg', None)
    dataset = (cfg.get('test_dataloader') or {}).get('dataset', {}) if cfg else {}
    label_map = dataset.get('label_map') or {}
    return {h: read_label_map(label_map[h]) for h in HANDS if h in label_map}


def hand_predictions(sample: Any, classes: Mapping[str, List[str]] | None = None
                     ) -> Dict[str, dict]:
    """``{'lh': dict(label=int, score=list, class_name=str|None), 'rh': ...}``."""
    out = {}
    for hand in HANDS:
        if f'{hand}_pred_label' not in sample:
            continue
        label = int(sample.get(f'{hand}_pred_label').reshape(-1)[0])
        names = (classes or {}).get(hand)
        out[hand] = dict(label=label, score=sample.get(f'{hand}_pred_score').tolist(),
                         class_name=names[label] if names and label < len(names) else None)
    return out
